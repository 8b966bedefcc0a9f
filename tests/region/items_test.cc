// The world's items (region/items.h): their layout is a pure function of the configuration, and
// regions that each place the same items write identical state — so three regions starting at
// once converge with nothing to choose, and a restart or a region that already has them writes
// nothing.
#include "region/items.h"

#include <gtest/gtest.h>

#include <set>

#include "region/game_rules.h"
#include "tests/support/outboxes.h"

namespace worldline::region {
namespace {

using testing::QueueOutbox;

ItemField field(std::uint32_t count) {
  ItemField f;
  f.count = count;
  f.first_id = 7'000'000;
  f.min_x = -200;
  f.min_z = -100;
  f.max_x = 200;
  f.max_z = 100;
  return f;
}

TEST(Items, TheLayoutIsAPureFunctionOfTheField) {
  const auto a = scatter_items(field(500)), b = scatter_items(field(500));
  ASSERT_EQ(a.size(), 500u);
  std::set<std::pair<double, double>> spots;
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].id, 7'000'000 + i);
    EXPECT_EQ(a[i].id, b[i].id);
    EXPECT_EQ(a[i].at, b[i].at);
    EXPECT_GE(a[i].at.x, -200);
    EXPECT_LT(a[i].at.x, 200);
    EXPECT_GE(a[i].at.z, -100);
    EXPECT_LT(a[i].at.z, 100);
    EXPECT_EQ(a[i].at.y, 0);
    spots.insert({a[i].at.x, a[i].at.z});
  }
  EXPECT_EQ(spots.size(), 500u);  // scattered, not piled up
  // Spread over the area: every quarter of it holds some.
  int quarters[4] = {0, 0, 0, 0};
  for (const auto& item : a)
    ++quarters[(item.at.x >= 0 ? 1 : 0) + (item.at.z >= 0 ? 2 : 0)];
  for (int q : quarters)
    EXPECT_GT(q, 80) << "a quarter of the area with few items";
  // A field's first items do not move when the field grows.
  const auto more = scatter_items(field(600));
  for (std::size_t i = 0; i < a.size(); ++i)
    EXPECT_EQ(more[i].at, a[i].at);
}

struct Region {
  replica::ComponentRegistry registry = replica::ComponentRegistry::game_defaults();
  replica::MemoryJournal journal;
  QueueOutbox outbox;
  replica::Replica world;
  explicit Region(replica::ReplicaId id)
      : world(replica::ReplicaOptions{id, {1, 2, 3}}, registry, journal, outbox) {}
};

TEST(Items, ThreeRegionsPlacingTheSameItemsHoldIdenticalStateAndConverge) {
  Region a(1), b(2), c(3);
  for (Region* r : {&a, &b, &c}) {
    EXPECT_EQ(place_items(r->world, field(200)), 200u);
    ASSERT_TRUE(r->world.commit(1000).ok());
  }
  // Identical before any gossip: the same ids, positions, kinds and stamps, whoever wrote them.
  const std::uint64_t digest = a.world.store().digest();
  EXPECT_EQ(b.world.store().digest(), digest);
  EXPECT_EQ(c.world.store().digest(), digest);
  testing::exchange(a.world, a.outbox, b.world, b.outbox, 2000);
  testing::exchange(b.world, b.outbox, c.world, c.outbox, 2000);
  testing::exchange(a.world, a.outbox, c.world, c.outbox, 2000);
  for (Region* r : {&a, &b, &c})
    EXPECT_EQ(r->world.store().digest(), digest);
  for (const PlacedItem& item : scatter_items(field(200))) {
    EXPECT_TRUE(GameRules::is_item(c.world, item.id));
    EXPECT_EQ(*GameRules::position(c.world, item.id), item.at);
    EXPECT_FALSE(GameRules::item_owner(c.world, item.id).has_value());
  }
  // A restart finds them in its journal (here: the same store) and writes nothing; so does a
  // region that received them from a peer before it placed its own.
  EXPECT_EQ(place_items(a.world, field(200)), 0u);
  Region first(1), late(2);
  EXPECT_EQ(place_items(first.world, field(200)), 200u);
  ASSERT_TRUE(first.world.commit(1000).ok());
  testing::exchange(first.world, first.outbox, late.world, late.outbox, 2000);
  EXPECT_EQ(place_items(late.world, field(200)), 0u);
  EXPECT_EQ(late.world.store().digest(), digest);
  // A field grown in the configuration adds only the new items.
  EXPECT_EQ(place_items(a.world, field(250)), 50u);
}

}  // namespace
}  // namespace worldline::region
