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

namespace worldline::app {
namespace {

// Found by review: start() follows recovered stamps only within the skew bound (10 s), the bound
// meant for peers' clocks. This node's own stamps are beyond it after a restart whose wall clock
// stepped back further than that (a fast clock corrected by NTP at boot): the region then stamps
// its players' moves older than the ones it acknowledged before the restart, and every such
// move loses under LWW — here and, once gossiped, everywhere — until the wall clock catches up.
// HLC invariant 1 (crdt/hlc.h: now() strictly increasing even when the physical clock steps
// backwards) breaks across the restart.
TEST(RegionApp, TheClockStartsPastItsOwnStampsAfterTheWallClockSteppedBackBeyondTheSkewBound) {
  const replica::ComponentRegistry registry = replica::ComponentRegistry::game_defaults();
  replica::MemoryJournal journal;
  testing::QueueOutbox outbox;
  replica::Replica world(replica::ReplicaOptions{1, {1, 2}}, registry, journal, outbox);
  const crdt::Hlc own{1'000'000 + 12'000, 0, 1};  // this node's write, before the step back
  ASSERT_TRUE(world
                  .write(replica::Key{42, 1},
                         [&](replica::ComponentValue& v) -> std::optional<replica::ComponentValue> {
                           return std::get<crdt::Position>(v).assign(crdt::Vec3{1, 0, 1}, own);
                         })
                  .ok());
  crdt::ManualClock wall(1'000'000);  // 12 s behind it; the skew bound is 10 s
  RegionApp app(RegionAppOptions{}, wall);
  ASSERT_TRUE(app.start(world));
  const crdt::Hlc next = app.clock().now();
  EXPECT_GT(next, own) << "a move stamped " << next.to_string()
                       << " loses to the one acknowledged before, stamped " << own.to_string();
}

}  // namespace
}  // namespace worldline::app
