#include "region/interest_grid.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <stdexcept>

namespace worldline::region {
namespace {

TEST(InterestGrid, FindsWhoIsWithinARadius) {
  InterestGrid g(10);
  const auto s1 = g.insert(1, 0, 0);
  const auto s2 = g.insert(2, 5, 0);
  const auto s3 = g.insert(3, 12, 0);
  g.insert(4, -3, -4);  // exactly 5 away
  EXPECT_EQ(g.within(0, 0, 5), (std::vector<crdt::EntityId>{1, 2, 4}));
  EXPECT_EQ(g.within(0, 0, 4.99), (std::vector<crdt::EntityId>{1}));
  g.move(s3, 3, 1, 1);  // moves into range (and into another bucket)
  g.erase(s2, 2);
  EXPECT_EQ(g.within(0, 0, 5), (std::vector<crdt::EntityId>{1, 3, 4}));
  EXPECT_EQ(g.size(), 3u);
  // A freed slot is reused; the old handle no longer names entity 2.
  const auto s5 = g.insert(5, 100, 100);
  EXPECT_EQ(s5, s2);
  EXPECT_THROW(g.erase(s2, 2), std::logic_error);
  EXPECT_THROW(g.move(s1, 7, 0, 0), std::logic_error);  // slot 0 holds 1, not 7
  EXPECT_THROW(g.move(999, 1, 0, 0), std::logic_error);
  EXPECT_EQ(g.within(100, 100, 1), (std::vector<crdt::EntityId>{5}));
  EXPECT_TRUE(g.within(std::numeric_limits<double>::quiet_NaN(), 0, 5).empty());
  EXPECT_TRUE(g.within(0, 0, -1).empty());
  EXPECT_THROW(InterestGrid(0), std::invalid_argument);
}

// Whatever the inserts, moves and erasures, a query returns exactly what a scan of every entity
// would.
RC_GTEST_PROP(InterestGridProps, QueriesEqualABruteForceScan, ()) {
  InterestGrid g(*rc::gen::element(1.0, 7.5, 50.0));
  std::map<crdt::EntityId, std::pair<double, double>> truth;
  std::map<crdt::EntityId, InterestGrid::Slot> slot_of;
  auto coord = [] { return static_cast<double>(*rc::gen::inRange(-2000, 2000)) / 10; };
  const int ops = *rc::gen::inRange(0, 300);
  for (int i = 0; i < ops; ++i) {
    const crdt::EntityId id = *rc::gen::inRange<crdt::EntityId>(1, 60);
    auto held = slot_of.find(id);
    if (*rc::gen::inRange(0, 5) == 0) {
      if (held == slot_of.end()) continue;
      g.erase(held->second, id);
      slot_of.erase(held);
      truth.erase(id);
    } else {
      const double x = coord(), z = coord();
      if (held == slot_of.end()) {
        slot_of[id] = g.insert(id, x, z);
      } else {
        g.move(held->second, id, x, z);
      }
      truth[id] = {x, z};
    }
  }
  RC_ASSERT(g.size() == truth.size());
  for (int q = 0; q < 20; ++q) {
    const double x = coord(), z = coord(), r = static_cast<double>(*rc::gen::inRange(0, 800)) / 10;
    std::vector<crdt::EntityId> expected;
    for (const auto& [id, p] : truth) {
      const double dx = p.first - x, dz = p.second - z;
      if (dx * dx + dz * dz <= r * r) expected.push_back(id);
    }
    RC_ASSERT(g.within(x, z, r) == expected);
  }
}

}  // namespace
}  // namespace worldline::region
