// Partition transitions: players walk across cell boundaries while the tree splits and merges
// under them; every action still gets exactly one outcome, in its actor's order, and an actor's
// state lives in exactly one cell's queue — the one it stands in — at every tick boundary.
#include "region/pipeline.h"
#include "tests/support/outboxes.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <random>
#include <set>

namespace worldline::region {
namespace {

using testing::NullOutbox;

// One region's world: a replica with an in-memory journal, and its clocks.
class RegionPipelineTest : public ::testing::Test {
 protected:
  replica::ComponentRegistry registry = replica::ComponentRegistry::game_defaults();
  replica::MemoryJournal journal;
  NullOutbox outbox;
  crdt::ManualClock wall{1'000'000};
  crdt::HlcClock clock{1, wall, 10'000};
  replica::Replica world{replica::ReplicaOptions{1, {1}}, registry, journal, outbox};

  static PipelineOptions options(const PartitionOptions& part) {
    PipelineOptions o;
    o.partition = part;
    return o;
  }
};

TEST_F(RegionPipelineTest, PlayersCrossingCellsWhileTheTreeRebalancesLoseNoActionAndRepeatNone) {
  GameConfig game;
  game.max_speed_per_tick = 40;
  GameRules rules(game);
  PartitionOptions part;
  part.world = {-1000, -1000, 1000, 1000};
  part.split_load = 60;  // small: the tree splits and merges as the crowd moves
  part.merge_load = 20;
  part.workers = 2;
  auto priority = PriorityRules::defaults();
  priority.classes[2].budget_per_tick = 150;  // movement: some deferral, to hand over pending work
  RegionPipeline pipeline(options(part), priority, rules, world, clock);
  const double margin = PipelineOptions{}.ghost_margin;

  std::mt19937_64 rng(21);
  std::uniform_real_distribution<double> coord(-900, 900);
  const ActorId players = 600;
  std::map<ActorId, crdt::Vec3> goal;
  for (ActorId p = 1; p <= players; ++p) {
    rules.spawn(world, p, {coord(rng), 0, coord(rng)}, clock);
    goal[p] = {coord(rng), 0, coord(rng)};
  }
  ASSERT_TRUE(world.commit(0).ok());

  std::map<ActorId, std::uint64_t> seq, last_outcome_seq;
  std::set<std::pair<ActorId, std::uint64_t>> submitted, outcomes;
  for (std::uint64_t t = 1; t <= 120; ++t) {
    wall.advance(50);
    for (ActorId p = 1; p <= players; ++p) {
      if (t % 30 == 0) goal[p] = {coord(rng), 0, coord(rng)};  // new destinations: crossings
      const int n = 1 + static_cast<int>(rng() % 2);
      for (int i = 0; i < n; ++i) {
        Action a;
        a.actor = p;
        a.client_seq = ++seq[p];
        a.client_time_ms = wall.now_ms();
        a.position = goal[p];
        const int kind =
            i == 0 ? static_cast<int>(ActionKind::kMove) : static_cast<int>(ActionKind::kChat);
        a.text = "hi";
        ASSERT_FALSE(pipeline.submit(kind, a, wall.now_ms()).has_value());
        submitted.insert({p, a.client_seq});
      }
    }
    // A resent action is refused whatever cell its actor is in now.
    Action again;
    again.actor = 1;
    again.client_seq = seq[1];
    again.client_time_ms = wall.now_ms();
    again.position = goal[1];
    auto dup = pipeline.submit(static_cast<int>(ActionKind::kMove), again, wall.now_ms());
    ASSERT_TRUE(dup.has_value());
    EXPECT_EQ(dup->reason, RejectReason::kDuplicate);

    for (const Outcome& o : pipeline.tick(t)) {
      ASSERT_TRUE(outcomes.insert({o.actor, o.seq}).second) << "applied twice: " << o.actor;
      ASSERT_GT(o.seq, last_outcome_seq[o.actor]) << "out of order";
      last_outcome_seq[o.actor] = o.seq;
    }
    ASSERT_TRUE(world.commit(t).ok());
    // Ownership is unique and follows the position.
    std::map<CellId, std::vector<crdt::EntityId>> ghosts_expected;  // by cell, ascending ids
    for (ActorId p = 1; p <= players; ++p) {
      const auto home = pipeline.home_of(p);
      ASSERT_TRUE(home.has_value());
      const auto pos = *GameRules::position(world, p);
      ASSERT_EQ(*home, pipeline.partition().cell_of(pos.x, pos.z)) << "actor " << p;
      for (CellId c : pipeline.partition().leaves()) {
        ASSERT_EQ(pipeline.queue_holds(c, p), c == *home) << "actor " << p << " cell " << c;
      }
      // The interest grids and ghosts follow too, however the tree changed under them: the
      // player is found where it stands, and is a ghost in exactly the cells within the margin.
      const auto here = pipeline.within(pos.x, pos.z, 0.01);
      ASSERT_TRUE(std::find(here.begin(), here.end(), p) != here.end()) << "actor " << p;
      auto ghosts = pipeline.ghost_cells_of(p);
      auto expected = pipeline.partition().ghost_cells(pos.x, pos.z, margin, *home);
      std::sort(ghosts.begin(), ghosts.end());
      std::sort(expected.begin(), expected.end());
      ASSERT_EQ(ghosts, expected) << "actor " << p;
      // ... and each of those cells' ghost grid holds it where it stands now (phase 4 moved it).
      for (CellId g : expected) {
        ghosts_expected[g].push_back(p);
        const auto seen = pipeline.ghosts_within(g, pos.x, pos.z, 0.01);
        ASSERT_TRUE(std::find(seen.begin(), seen.end(), p) != seen.end())
            << "actor " << p << " ghost in cell " << g;
      }
    }
    // Every player is in exactly one cell's grid: no stale entry left behind by a regrid.
    std::vector<crdt::EntityId> everyone(players);
    std::iota(everyone.begin(), everyone.end(), 1);
    ASSERT_EQ(pipeline.within(0, 0, 5000), everyone);
    // Every ghost grid holds exactly the players that are ghosts there: none left behind.
    for (CellId c : pipeline.partition().leaves()) {
      ASSERT_EQ(pipeline.ghosts_within(c, 0, 0, 5000), ghosts_expected[c]) << "cell " << c;
    }
  }
  // Drain: no new actions until everything queued is processed.
  for (std::uint64_t t = 121; t <= 140; ++t) {
    for (const Outcome& o : pipeline.tick(t)) {
      ASSERT_TRUE(outcomes.insert({o.actor, o.seq}).second);
    }
  }
  EXPECT_EQ(outcomes, submitted);  // nothing lost
  EXPECT_GT(pipeline.stats().handovers, 1000u);
  EXPECT_GT(pipeline.stats().splits, 5u);
  EXPECT_GT(pipeline.stats().merges, 0u);
  EXPECT_EQ(pipeline.ingress().rejected()[static_cast<int>(RejectReason::kDuplicate)], 120u);
  EXPECT_EQ(pipeline.stats().tick_ms.count(), 140u);
  EXPECT_EQ(pipeline.stats().ticks, 140u);
}

TEST_F(RegionPipelineTest, RulesSwappedAtRunTimeApplyToEveryCellFromTheNextTick) {
  GameRules rules(GameConfig{});
  PartitionOptions part;
  part.world = {-100, -100, 100, 100};
  part.split_load = 0;  // four cells after the first tick
  RegionPipeline pipeline(options(part), PriorityRules::defaults(), rules, world, clock);
  rules.spawn(world, 1, {-50, 0, -50}, clock);
  rules.spawn(world, 2, {50, 0, 50}, clock);
  auto submit = [&](ActorId actor, ActionKind kind, std::uint64_t seq) {
    Action a;
    a.actor = actor;
    a.client_seq = seq;
    a.client_time_ms = wall.now_ms();
    a.position = {0, 0, 0};
    a.text = "x";
    ASSERT_FALSE(pipeline.submit(static_cast<int>(kind), a, wall.now_ms()).has_value());
  };
  submit(1, ActionKind::kEmote, 1);
  submit(2, ActionKind::kEmote, 1);
  pipeline.tick(1);  // splits: the two players now live in different cells
  ASSERT_TRUE(pipeline.home_of(1).has_value() && pipeline.home_of(2).has_value());
  ASSERT_NE(*pipeline.home_of(1), *pipeline.home_of(2));
  // Social budget 1 per cell per tick, set at run time: two chats by one player take two ticks.
  auto tight = PriorityRules::defaults();
  tight.classes[4].budget_per_tick = 1;
  pipeline.set_rules(tight);
  submit(2, ActionKind::kChat, 2);
  submit(2, ActionKind::kChat, 3);
  EXPECT_EQ(pipeline.tick(2).size(), 1u);
  EXPECT_EQ(pipeline.tick(3).size(), 1u);
  EXPECT_EQ(pipeline.rules().classes[4].budget_per_tick, 1u);
}

// The anti-starvation bound holds through the pipeline too: an action submitted before tick t
// waits at most its class's max_wait_ticks, however far over budget its class is — the ticks it
// waited count from the tick it was submitted for, not from when its cell's worker queued it.
TEST_F(RegionPipelineTest, ASubmittedActionWaitsNoLongerThanItsClassBound) {
  GameRules rules(GameConfig{});
  PartitionOptions part;
  part.world = {-100, -100, 100, 100};
  auto slow = PriorityRules::defaults();
  slow.classes[4].budget_per_tick = 1;  // social: one chat per cell per tick
  slow.classes[4].max_wait_ticks = 3;
  RegionPipeline pipeline(options(part), slow, rules, world, clock);
  for (ActorId p = 1; p <= 10; ++p) {
    rules.spawn(world, p, {0, 0, 0}, clock);
    Action a;
    a.actor = p;
    a.client_seq = 1;
    a.client_time_ms = wall.now_ms();
    a.text = "hello";
    ASSERT_FALSE(pipeline.submit(static_cast<int>(ActionKind::kChat), a, wall.now_ms()));
  }
  std::vector<std::size_t> per_tick;
  for (std::uint64_t t = 1; t <= 4; ++t)
    per_tick.push_back(pipeline.tick(t).size());
  // One a tick within budget; at tick 4 the other seven have waited 3 ticks: all forced.
  EXPECT_EQ(per_tick, (std::vector<std::size_t>{1, 1, 1, 7}));
}

// A failover: the actor's actions up to some seq were processed in another region. Here they are
// refused as duplicates, the next one is processed, and the queues' counters say so.
TEST_F(RegionPipelineTest, ActionsMarkedProcessedElsewhereAreRefusedAsDuplicatesHere) {
  GameRules rules(GameConfig{});
  PartitionOptions part;
  part.world = {-100, -100, 100, 100};
  RegionPipeline pipeline(options(part), PriorityRules::defaults(), rules, world, clock);
  rules.spawn(world, 1, {0, 0, 0}, clock);
  EXPECT_EQ(pipeline.processed_seq(1), 0u);
  EXPECT_EQ(pipeline.home_of(1), std::nullopt);
  pipeline.mark_processed(1, 5);
  EXPECT_EQ(pipeline.processed_seq(1), 5u);
  ASSERT_TRUE(pipeline.home_of(1).has_value());
  auto chat = [&](std::uint64_t seq) {
    Action a;
    a.actor = 1;
    a.client_seq = seq;
    a.client_time_ms = wall.now_ms();
    a.text = "back";
    return pipeline.submit(static_cast<int>(ActionKind::kChat), a, wall.now_ms());
  };
  for (std::uint64_t seq : {3u, 5u}) {
    const auto reject = chat(seq);
    ASSERT_TRUE(reject.has_value()) << seq;
    EXPECT_EQ(reject->reason, RejectReason::kDuplicate);
  }
  EXPECT_FALSE(chat(6).has_value());
  const auto out = pipeline.tick(1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, 6u);
  EXPECT_TRUE(out[0].ok);
  EXPECT_EQ(pipeline.processed_seq(1), 6u);
  EXPECT_EQ(pipeline.ingress().rejected()[static_cast<int>(RejectReason::kDuplicate)], 2u);
  const QueueStats q = pipeline.queue_stats();
  EXPECT_EQ(q.duplicates, 2u);
  const auto social = static_cast<std::size_t>(PriorityRules::defaults().rank(ActionKind::kChat));
  EXPECT_EQ(q.processed_by_class[social], 1u);
  EXPECT_EQ(std::accumulate(q.processed_by_class.begin(), q.processed_by_class.end(), 0ull), 1u);
}

}  // namespace
}  // namespace worldline::region
