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
  g.upsert(1, 0, 0);
  g.upsert(2, 5, 0);
  g.upsert(3, 12, 0);
  g.upsert(4, -3, -4);  // exactly 5 away
  EXPECT_EQ(g.within(0, 0, 5), (std::vector<crdt::EntityId>{1, 2, 4}));
  EXPECT_EQ(g.within(0, 0, 4.99), (std::vector<crdt::EntityId>{1}));
  g.upsert(3, 1, 1);  // moves into range (and into another bucket)
  g.remove(2);
  EXPECT_EQ(g.within(0, 0, 5), (std::vector<crdt::EntityId>{1, 3, 4}));
  EXPECT_EQ(g.size(), 3u);
  g.remove(99);  // absent: nothing happens
  EXPECT_TRUE(g.within(std::numeric_limits<double>::quiet_NaN(), 0, 5).empty());
  EXPECT_TRUE(g.within(0, 0, -1).empty());
  EXPECT_THROW(InterestGrid(0), std::invalid_argument);
}

// Whatever the moves and removals, a query returns exactly what a scan of every entity would.
RC_GTEST_PROP(InterestGridProps, QueriesEqualABruteForceScan, ()) {
  InterestGrid g(*rc::gen::element(1.0, 7.5, 50.0));
  std::map<crdt::EntityId, std::pair<double, double>> truth;
  auto coord = [] { return static_cast<double>(*rc::gen::inRange(-2000, 2000)) / 10; };
  const int ops = *rc::gen::inRange(0, 300);
  for (int i = 0; i < ops; ++i) {
    const crdt::EntityId id = *rc::gen::inRange<crdt::EntityId>(1, 60);
    if (*rc::gen::inRange(0, 5) == 0) {
      g.remove(id);
      truth.erase(id);
    } else {
      const double x = coord(), z = coord();
      g.upsert(id, x, z);
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
