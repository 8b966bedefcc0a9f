// The region on several worker threads: results that do not depend on the number of workers, a
// PvP battle fought across cell boundaries, ghosts and interest queries, and entities of another
// region (remote authority) placed from replicated deltas.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <set>
#include <tuple>

#include "region/pipeline.h"
#include "tests/support/outboxes.h"

namespace worldline::region {
namespace {

using testing::QueueOutbox;

// One region: a replica with an in-memory journal, its clocks, rules and pipeline.
struct Region {
  replica::ComponentRegistry registry = replica::ComponentRegistry::game_defaults();
  replica::MemoryJournal journal;
  QueueOutbox outbox;
  crdt::ManualClock wall;
  crdt::HlcClock clock;
  replica::Replica world;
  GameRules rules;
  RegionPipeline pipeline;
  std::map<ActorId, std::uint64_t> seq;

  Region(replica::ReplicaId id, std::vector<replica::ReplicaId> peers, PipelineOptions options,
         GameConfig game = {})
      : wall(1'000'000),
        clock(id, wall, 10'000),
        world(replica::ReplicaOptions{id, std::move(peers)}, registry, journal, outbox),
        rules(game),
        pipeline(options, PriorityRules::defaults(), rules, world, clock) {}

  // Submits and returns (actor, seq); fails the test on a reject.
  std::pair<ActorId, std::uint64_t> act(ActorId actor, ActionKind kind, crdt::EntityId target = 0,
                                        crdt::Vec3 to = {}) {
    Action a;
    a.actor = actor;
    a.client_seq = ++seq[actor];
    a.client_time_ms = wall.now_ms();
    a.target = target;
    a.position = to;
    a.text = "gg";
    const auto reject = pipeline.submit(static_cast<int>(kind), a, wall.now_ms());
    EXPECT_FALSE(reject.has_value()) << reject->detail;
    return {actor, a.client_seq};
  }
  std::vector<Outcome> tick(std::uint64_t t) {
    wall.advance(50);
    auto out = pipeline.tick(t);
    EXPECT_TRUE(world.commit(wall.now_ms()).ok());
    return out;
  }
};

PipelineOptions small_world(int workers, std::uint32_t split_load) {
  PipelineOptions o;
  o.partition.world = {-200, -200, 200, 200};
  o.partition.split_load = split_load;
  o.partition.merge_load = split_load / 4;
  o.partition.workers = workers;
  o.ghost_margin = 10;
  o.interest_bucket = 10;
  return o;
}

// Everything a run decides, down to the HLC stamps (each cell stamps with its own clock,
// whichever worker runs it): the store's digest covers every value with its stamps.
struct RunResult {
  std::vector<std::tuple<ActorId, std::uint64_t, bool, std::string>> outcomes;  // sorted
  std::map<ActorId, std::int64_t> health;
  std::map<ActorId, std::tuple<double, double, double>> position;
  std::map<crdt::EntityId, std::optional<crdt::EntityId>> item_owner;
  std::uint64_t digest = 0;
  std::uint64_t forwarded = 0;
  bool operator==(const RunResult& o) const {
    return std::tie(outcomes, health, position, item_owner, digest) ==
           std::tie(o.outcomes, o.health, o.position, o.item_owner, o.digest);
  }
};

RunResult battle(std::uint64_t seed, int workers, ActorId players, int ticks) {
  GameConfig game;
  game.attack_range = 40;
  game.pickup_range = 40;  // many in range, many not; the items stand in different cells
  game.max_speed_per_tick = 8;
  Region r(1, {1}, small_world(workers, 30), game);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> coord(-60, 60);
  for (ActorId p = 1; p <= players; ++p)
    r.rules.spawn(r.world, p, {coord(rng), 0, coord(rng)}, r.clock);
  place_item(r.world, 500'000, {-30, 0, -30});
  place_item(r.world, 500'001, {0, 0, 0});
  place_item(r.world, 500'002, {30, 0, 30});
  EXPECT_TRUE(r.world.commit(0).ok());
  RunResult result;
  for (int t = 1; t <= ticks; ++t) {
    for (ActorId p = 1; p <= players; ++p) {
      const auto roll = rng() % 10;
      ActorId target = 1 + rng() % players;
      if (target == p) target = target % players + 1;
      if (roll < 4) {
        r.act(p, ActionKind::kMove, 0, {coord(rng), 0, coord(rng)});
      } else if (roll < 8) {
        r.act(p, ActionKind::kAttack, target);
      } else if (roll < 9) {
        r.act(p, ActionKind::kPickup, 500'000 + rng() % 3);
      } else {
        r.act(p, ActionKind::kChat);
      }
    }
    for (const Outcome& o : r.tick(static_cast<std::uint64_t>(t))) {
      // A reason may quote an HLC stamp ("already claimed by 8 at 1000100.3@1"): the same too.
      result.outcomes.emplace_back(o.actor, o.seq, o.ok, o.code + ": " + o.reason);
    }
  }
  std::sort(result.outcomes.begin(), result.outcomes.end());
  for (ActorId p = 1; p <= players; ++p) {
    result.health[p] = GameRules::health(r.world, p);
    const auto pos = *GameRules::position(r.world, p);
    result.position[p] = {pos.x, pos.y, pos.z};
  }
  for (crdt::EntityId item = 500'000; item < 500'003; ++item) {
    const auto* v = r.world.store().get({item, kItemOwnerComponent});
    result.item_owner[item] = v ? std::get<crdt::UniqueItemOwner>(*v).owner() : std::nullopt;
  }
  result.digest = r.world.store().digest();
  result.forwarded = r.pipeline.stats().forwarded;
  return result;
}

RC_GTEST_PROP(RegionWorkers, OutcomesAndStateDoNotDependOnTheNumberOfWorkers, ()) {
  const auto seed = *rc::gen::inRange<std::uint64_t>(1, 1'000'000);
  const ActorId players = *rc::gen::inRange<ActorId>(20, 120);
  const RunResult one = battle(seed, 1, players, 12);
  RC_ASSERT(one.forwarded > 0u);  // interactions did cross cells
  const RunResult two = battle(seed, 2, players, 12);
  for (std::size_t i = 0; i < std::min(one.outcomes.size(), two.outcomes.size()); ++i) {
    if (one.outcomes[i] != two.outcomes[i]) {
      RC_LOG() << "first difference: actor " << std::get<0>(one.outcomes[i]) << " seq "
               << std::get<1>(one.outcomes[i]) << ": '" << std::get<3>(one.outcomes[i])
               << "' with one worker, '" << std::get<3>(two.outcomes[i]) << "' with two\n";
      break;
    }
  }
  RC_ASSERT(two == one);
  RC_ASSERT(battle(seed, 3, players, 12) == one);
}

// The brief's large PvP battle, on two workers, with the fight spread over many cells: every
// attack gets exactly one outcome, and every health is its spawn health minus the damage log.
TEST(RegionWorkers, LargePvPBattleAcrossCellsAppliesEveryAttackExactlyOnce) {
  GameConfig game;
  game.attack_range = 1000;  // everyone can reach everyone: the hits cross cells and workers
  Region r(1, {1}, small_world(2, 100), game);
  std::mt19937_64 rng(17);
  std::uniform_real_distribution<double> coord(-150, 150);
  const ActorId players = 1000;
  for (ActorId p = 1; p <= players; ++p)
    r.rules.spawn(r.world, p, {coord(rng), 0, coord(rng)}, r.clock);
  ASSERT_TRUE(r.world.commit(0).ok());
  std::map<std::pair<ActorId, std::uint64_t>, ActorId> target_of;
  std::set<std::pair<ActorId, std::uint64_t>> outcomes;
  std::map<ActorId, std::int64_t> damage;
  std::size_t accepted = 0;
  for (std::uint64_t t = 1; t <= 200; ++t) {
    for (ActorId p = 1; p <= players; ++p) {
      ActorId target = 1 + rng() % players;
      if (target == p) target = target % players + 1;
      target_of[r.act(p, ActionKind::kAttack, target)] = target;
    }
    for (const Outcome& o : r.tick(t)) {
      ASSERT_TRUE(outcomes.insert({o.actor, o.seq}).second) << "processed twice";
      if (o.ok) {
        ++accepted;
        damage[target_of.at({o.actor, o.seq})] += game.attack_damage;
      }
    }
  }
  EXPECT_EQ(outcomes.size(), target_of.size());  // and each one was submitted
  for (ActorId p = 1; p <= players; ++p) {
    const std::int64_t h = GameRules::health(r.world, p);
    EXPECT_EQ(h, game.spawn_health - damage[p]) << "player " << p;
    EXPECT_GE(h, 0) << "player " << p;
  }
  EXPECT_GT(r.pipeline.partition().leaves().size(), 4u);
  EXPECT_GT(r.pipeline.stats().forwarded, 10'000u);
  EXPECT_GT(accepted, 5000u);
}

// Two players either side of a cell boundary: each is a ghost in the other's cell, a handler's
// interest query sees across the boundary, and an attack across it is resolved by the target's
// cell.
TEST(RegionWorkers, GhostsAreVisibleAcrossABoundaryAndTheTargetsCellResolvesTheHit) {
  PipelineOptions o = small_world(2, 0);  // splits at the first tick: four cells around (0, 0)
  Region r(1, {1}, o);
  r.rules.spawn(r.world, 1, {-1.5, 0, -1.5}, r.clock);
  r.rules.spawn(r.world, 2, {2, 0, 2}, r.clock);       // 4.95 apart: within attack range (5)
  r.rules.spawn(r.world, 3, {-150, 0, 150}, r.clock);  // far from every boundary
  r.act(3, ActionKind::kChat);
  r.tick(1);
  const auto a = r.pipeline.cell_of_entity(1), b = r.pipeline.cell_of_entity(2);
  ASSERT_TRUE(a && b);
  ASSERT_NE(*a, *b);
  const auto ghosts_of_2 = r.pipeline.ghost_cells_of(2);
  EXPECT_NE(std::find(ghosts_of_2.begin(), ghosts_of_2.end(), *a), ghosts_of_2.end());
  EXPECT_TRUE(r.pipeline.ghost_cells_of(3).empty());

  std::vector<crdt::EntityId> seen;
  r.rules.set(ActionKind::kInteract, [&](const Action& act, HandlerContext& ctx) {
    const auto me = *GameRules::position(ctx.world, act.actor);
    seen = ctx.nearby(me.x, me.z, 10);
    return Outcome{act.actor, act.client_seq, true, {}};
  });
  r.act(1, ActionKind::kInteract, 2);
  r.act(1, ActionKind::kAttack, 2);
  const auto out = r.tick(2);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[0].ok && out[1].ok);
  EXPECT_EQ(seen, (std::vector<crdt::EntityId>{1, 2}));
  EXPECT_EQ(r.pipeline.stats().forwarded, 1u);  // the attack: interact has no target half
  EXPECT_EQ(GameRules::health(r.world, 2), 90);
  EXPECT_EQ(r.pipeline.within(0, 0, 3), (std::vector<crdt::EntityId>{1, 2}));
  EXPECT_EQ(r.pipeline.within(-150, 150, 1), (std::vector<crdt::EntityId>{3}));
  const auto cells = r.pipeline.cells();
  std::size_t entities = 0;
  for (const auto& c : cells)
    entities += c.entities;
  EXPECT_EQ(entities, 3u);
}

// A cell's ghosts are exactly the other cells' entities within the ghost margin of it, read from
// their own grids as they stood when the tick began: a handler's interest query with a radius
// larger than the margin does not see past it, and an entity that steps out of the margin stops
// being a ghost from the next tick on.
TEST(RegionWorkers, AHandlerSeesTheNeighboursEntitiesWithinTheMarginAsGhostsAndNoOthers) {
  // Splits at the first tick (load 5 > 4): four cells around (0, 0), none hot enough to split
  // again.
  Region r(1, {1}, small_world(2, 4));
  r.rules.spawn(r.world, 1, {-5, 0, -5}, r.clock);   // south-west: the one asking
  r.rules.spawn(r.world, 4, {-15, 0, -5}, r.clock);  // south-west too
  r.rules.spawn(r.world, 3, {8, 0, -5}, r.clock);    // south-east, 8 from the south-west cell
  r.rules.spawn(r.world, 2, {15, 0, -5}, r.clock);   // south-east, 15 from it: beyond the margin
  r.act(1, ActionKind::kChat);
  r.tick(1);
  const CellId sw = r.pipeline.partition().cell_of(-1, -1),
               se = r.pipeline.partition().cell_of(1, -1);
  const CellId nw = r.pipeline.partition().cell_of(-1, 1),
               ne = r.pipeline.partition().cell_of(1, 1);
  ASSERT_EQ(r.pipeline.cell_of_entity(1), sw);
  ASSERT_EQ(r.pipeline.cell_of_entity(3), se);

  std::vector<crdt::EntityId> seen;
  r.rules.set(ActionKind::kInteract, [&](const Action& act, HandlerContext& ctx) {
    seen = ctx.nearby(-5, -5, 30);  // every entity is within 30; only three are visible here
    return Outcome{act.actor, act.client_seq, true, {}};
  });
  r.act(1, ActionKind::kInteract, 1);
  r.act(3, ActionKind::kMove, 0, {12, 0, -5});  // out of the margin: from the next tick on
  r.tick(2);
  EXPECT_EQ(seen, (std::vector<crdt::EntityId>{1, 3, 4}));
  EXPECT_EQ(r.pipeline.ghosts_within(sw, -5, -5, 30), (std::vector<crdt::EntityId>{}));
  EXPECT_EQ(r.pipeline.ghost_cells_of(3), (std::vector<CellId>{ne}));
  r.act(1, ActionKind::kInteract, 1);
  r.tick(3);
  EXPECT_EQ(seen, (std::vector<crdt::EntityId>{1, 4}));

  // The stats API counts each cell's ghosts: the entities of the others within 10 of it.
  ASSERT_EQ(r.pipeline.partition().leaves(), (std::vector<CellId>{sw, se, nw, ne}));
  std::map<CellId, std::size_t> ghosts;
  for (const CellReport& c : r.pipeline.cells())
    ghosts[c.cell] = c.ghosts;
  EXPECT_EQ(ghosts[sw], 0u);  // 3 at x = 12 and 2 at x = 15: too far
  EXPECT_EQ(ghosts[se], 1u);  // 1 (5 from it); 4 is 15 away
  EXPECT_EQ(ghosts[nw], 2u);  // 1 and 4, 5 below it; 3 is 13 away diagonally
  EXPECT_EQ(ghosts[ne], 3u);  // 1 (7.1 diagonally), 3 and 2 (5 below it)
  EXPECT_EQ(r.pipeline.ghosts_within(ne, 0, 0, 50), (std::vector<crdt::EntityId>{1, 2, 3}));
}

// The brief's congregation, through the threaded pipeline: 10 000 players walk to one point. The
// tree splits to follow them, every move gets exactly one outcome, ownership follows position,
// and the load stays balanced across the two workers.
TEST(RegionWorkers, TenThousandPlayersWalkingToOnePointSplitTheTreeAndStayBalanced) {
  PipelineOptions o;
  o.partition.world = {-2000, -2000, 2000, 2000};
  o.partition.split_load = 800;
  o.partition.merge_load = 200;
  o.partition.workers = 2;
  GameConfig game;
  game.max_speed_per_tick = 60;
  Region r(1, {1}, o, game);
  std::mt19937_64 rng(31);
  std::uniform_real_distribution<double> unit(0, 1);
  const ActorId players = 10'000;
  const crdt::Vec3 goal{700, 0, -300};
  for (ActorId p = 1; p <= players; ++p) {
    const double rad = 1500 * std::sqrt(unit(rng)), a = 6.283185307179586 * unit(rng);
    r.rules.spawn(r.world, p, {rad * std::cos(a), 0, rad * std::sin(a)}, r.clock);
  }
  ASSERT_TRUE(r.world.commit(0).ok());
  const std::size_t cells_before = r.pipeline.partition().leaves().size();
  for (std::uint64_t t = 1; t <= 40; ++t) {
    for (ActorId p = 1; p <= players; ++p) {
      // Everyone heads for a spot on a small disc around the goal.
      const double rad = 60 * std::sqrt(unit(rng)), a = 6.283185307179586 * unit(rng);
      r.act(p, ActionKind::kMove, 0, {goal.x + rad * std::cos(a), 0, goal.z + rad * std::sin(a)});
    }
    const auto out = r.tick(t);
    ASSERT_EQ(out.size(), players) << "tick " << t;
    std::set<ActorId> seen;
    for (const Outcome& x : out)
      ASSERT_TRUE(seen.insert(x.actor).second) << "actor " << x.actor << " twice in tick " << t;
  }
  std::size_t near_goal = 0;
  for (ActorId p = 1; p <= players; ++p) {
    const auto pos = *GameRules::position(r.world, p);
    near_goal += std::hypot(pos.x - goal.x, pos.z - goal.z) <= 61;
    ASSERT_EQ(r.pipeline.cell_of_entity(p), r.pipeline.partition().cell_of(pos.x, pos.z));
    ASSERT_EQ(r.pipeline.home_of(p), r.pipeline.cell_of_entity(p)) << "player " << p;
  }
  EXPECT_EQ(near_goal, players);  // 40 ticks × 60 units reach the goal from anywhere on the disc
  EXPECT_GT(r.pipeline.stats().splits, 5u);
  EXPECT_GT(r.pipeline.partition().leaves().size(), cells_before + 10);
  EXPECT_LE(r.pipeline.stats().last_rebalance.balance, 1.25);
  std::size_t entities = 0;
  for (const auto& c : r.pipeline.cells())
    entities += c.entities;
  EXPECT_EQ(entities, players);
}

void exchange(Region& x, Region& y, int rounds) {
  testing::exchange(x.world, x.outbox, y.world, y.outbox, x.wall.now_ms(), rounds);
}

// A player whose authority is region A, seen from region B: B places it from A's deltas, its
// interest queries follow it as it moves, and B's hits on it count in A too.
TEST(RegionWorkers, EntitiesOfAnotherRegionArePlacedFromReplicatedDeltas) {
  Region eu(1, {1, 2}, small_world(2, 50)), us(2, {1, 2}, small_world(2, 50));
  eu.rules.spawn(eu.world, 7, {10, 0, 10}, eu.clock);
  us.rules.spawn(us.world, 8, {12, 0, 12}, us.clock);
  eu.tick(1);
  us.tick(1);
  exchange(eu, us, 4);
  us.tick(2);
  EXPECT_EQ(us.pipeline.within(10, 10, 1), (std::vector<crdt::EntityId>{7}));
  EXPECT_GE(us.pipeline.stats().remote_moves, 1u);

  eu.act(7, ActionKind::kMove, 0, {15, 0, 10});
  eu.tick(3);
  exchange(eu, us, 4);
  us.act(8, ActionKind::kAttack, 7);  // a hit from the US on the EU player, where US sees it
  us.tick(4);
  EXPECT_TRUE(us.pipeline.within(10, 10, 1).empty());
  EXPECT_EQ(us.pipeline.within(15, 10, 1), (std::vector<crdt::EntityId>{7}));
  EXPECT_EQ(us.pipeline.cell_of_entity(7), us.pipeline.partition().cell_of(15, 10));
  exchange(eu, us, 4);
  eu.tick(5);
  EXPECT_EQ(GameRules::health(eu.world, 7), 90);  // the US hit counts in the EU
  EXPECT_EQ(GameRules::health(us.world, 7), 90);
}

// A studio's rule moves an entity that never acts (a pushed crate) across a cell boundary: the
// target's cell re-places it in phase 3 like a moving player, and there is no queue to hand over.
TEST(RegionWorkers, AnEntityPushedAcrossABoundaryChangesCellWithNothingToHandOver) {
  // Load above 2 splits a cell: the first tick (two entities, one action) splits the world into
  // four cells around (0, 0), the second (one entity and one action a cell) splits none.
  Region r(1, {1}, small_world(2, 2));
  r.rules.spawn(r.world, 1, {-3, 0, -3}, r.clock);
  r.rules.spawn(r.world, 50, {-1, 0, -1}, r.clock);  // the crate, 2.8 from the player
  r.act(1, ActionKind::kChat);
  r.tick(1);
  const auto before = r.pipeline.cell_of_entity(50);
  ASSERT_EQ(before, r.pipeline.partition().cell_of(-1, -1));
  ASSERT_NE(r.pipeline.partition().cell_of(-1, -1), r.pipeline.partition().cell_of(2, 2));
  const std::uint64_t handovers = r.pipeline.stats().handovers;

  GameRules::Rule push;
  push.on_actor = [](const Action& a, HandlerContext&) {
    return Outcome{a.actor, a.client_seq, true, {}};
  };
  push.on_target = [](const Action& a, HandlerContext& ctx) {  // in the crate's cell
    (void)ctx.world.write(
        replica::Key{a.target, kPositionComponent},
        [&](replica::ComponentValue& v) -> std::optional<replica::ComponentValue> {
          return std::get<crdt::Position>(v).assign({2, 0, 2}, ctx.clock.now());
        });
    return Outcome{a.actor, a.client_seq, true, {}};
  };
  r.rules.set(ActionKind::kInteract, push);
  r.act(1, ActionKind::kInteract, 50);
  const auto out = r.tick(2);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].ok);
  EXPECT_EQ(r.pipeline.cell_of_entity(50), r.pipeline.partition().cell_of(2, 2));
  EXPECT_EQ(r.pipeline.within(2, 2, 0.5), (std::vector<crdt::EntityId>{50}));
  EXPECT_TRUE(r.pipeline.within(-1, -1, 0.5).empty());
  EXPECT_EQ(r.pipeline.home_of(50), std::nullopt);  // it never acted: no queue holds it
  EXPECT_EQ(r.pipeline.stats().last_rebalance.splits, 0);
  EXPECT_EQ(r.pipeline.stats().handovers, handovers);
  EXPECT_EQ(r.pipeline.cell_of_entity(1), r.pipeline.partition().cell_of(-3, -3));
}

}  // namespace
}  // namespace worldline::region
