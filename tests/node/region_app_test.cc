// RegionApp on its own: what it sets up when the node loop starts it on a recovered replica.
#include "app/region_app.h"

#include <gtest/gtest.h>

#include "crdt/components.h"
#include "replica/journal.h"
#include "tests/support/outboxes.h"

namespace worldline::app {
namespace {

// Found by the node simulation (seed 186 of 2026-12-06): a node restarting with a wall clock
// behind the stamps in its recovered state — its own earlier writes, stamped after a peer's clock
// that runs ahead — stamped its new writes older than those, so a player's last acknowledged move
// lost to its previous position under LWW. The region's clock now starts past every recovered
// stamp (within the skew bound).
TEST(RegionApp, TheClockStartsPastEveryStampOfTheRecoveredState) {
  const replica::ComponentRegistry registry = replica::ComponentRegistry::game_defaults();
  replica::MemoryJournal journal;
  testing::QueueOutbox outbox;
  replica::Replica world(replica::ReplicaOptions{1, {1, 2}}, registry, journal, outbox);
  const crdt::Hlc ahead{1'000'000 + 3'000, 7, 2};  // a peer's stamp, 3 s ahead of our clock
  ASSERT_TRUE(world
                  .write(replica::Key{42, 1},
                         [&](replica::ComponentValue& v) -> std::optional<replica::ComponentValue> {
                           return std::get<crdt::Position>(v).assign(crdt::Vec3{1, 0, 1}, ahead);
                         })
                  .ok());
  crdt::ManualClock wall(1'000'000);
  RegionApp app(RegionAppOptions{}, wall);
  ASSERT_TRUE(app.start(world));
  EXPECT_GT(app.clock().now(), ahead);
}

}  // namespace
}  // namespace worldline::app
