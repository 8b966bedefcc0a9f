// The brief's scenarios at the level of one region's rules: a large PvP battle, many players
// grabbing one item in the same tick, the same contest across two regions through the replica,
// pickups of items that do not exist or lie too far, and movement limits.
#include "region/game_rules.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <optional>
#include <random>
#include <set>

#include "region/action_queue.h"
#include "tests/support/outboxes.h"

namespace worldline::region {
namespace {

using replica::ComponentRegistry;
using replica::Replica;
using replica::ReplicaOptions;

using testing::QueueOutbox;

struct Region {
  ComponentRegistry registry = ComponentRegistry::game_defaults();
  replica::MemoryJournal journal;
  QueueOutbox outbox;
  crdt::ManualClock wall;
  crdt::HlcClock clock;
  Replica world;
  GameRules rules;
  ActionQueue queue{PriorityRules::defaults()};
  std::map<ActorId, std::uint64_t> seq;

  static GameConfig test_config() {
    GameConfig c;
    c.move_lead_ticks = 0;  // max_speed_per_tick exactly, from a player's first move
    return c;
  }
  Region(replica::ReplicaId id, std::vector<replica::ReplicaId> peers, std::uint64_t start_ms,
         GameConfig config = test_config())
      : wall(start_ms),
        clock(id, wall, 10'000),
        world(ReplicaOptions{id, peers}, registry, journal, outbox),
        rules(config) {}

  // An item on the ground at `at`, and players standing at the given spots, committed.
  void setup(crdt::EntityId item, crdt::Vec3 at,
             std::vector<std::pair<ActorId, crdt::Vec3>> players) {
    place_item(world, item, at);
    for (const auto& [p, where] : players)
      rules.spawn(world, p, where, clock);
    EXPECT_TRUE(world.commit(0).ok());
  }

  Action action(ActorId actor, ActionKind kind, crdt::EntityId target = 0) {
    Action a;
    a.actor = actor;
    a.kind = kind;
    a.client_seq = ++seq[actor];
    a.target = target;
    a.stamp = clock.now();
    return a;
  }
  std::vector<Outcome> tick(std::uint64_t t) {
    wall.advance(50);
    CellWorld cell(world.store(), world.id());  // the whole region as one cell
    HandlerContext ctx{cell, clock, t};
    std::vector<Outcome> out;
    for (const Action& a : queue.take(t))
      out.push_back(rules.apply(a, ctx));
    cell.flush_into(world);
    EXPECT_TRUE(world.commit(t).ok());
    return out;
  }
  // As tick, but each action's two halves' outcomes: the actor's (what the pipeline's observer
  // sees: the rules' measurements) and the final one.
  std::vector<std::pair<Outcome, Outcome>> tick_halves(std::uint64_t t) {
    wall.advance(50);
    CellWorld cell(world.store(), world.id());
    HandlerContext ctx{cell, clock, t};
    std::vector<std::pair<Outcome, Outcome>> out;
    for (const Action& a : queue.take(t)) {
      const GameRules::Rule& rule = rules.rule(a.kind);
      Outcome actor = rule.on_actor(a, ctx);
      Outcome final = actor.ok && rule.on_target ? rule.on_target(a, ctx) : actor;
      out.emplace_back(std::move(actor), std::move(final));
    }
    cell.flush_into(world);
    EXPECT_TRUE(world.commit(t).ok());
    return out;
  }
};

TEST(GameRules, LargePvPBattleAppliesEveryAttackExactlyOnce) {
  Region r(1, {1}, 1'000'000);
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> coord(0, 3);  // everyone within attack range
  const ActorId players = 1000;
  for (ActorId p = 1; p <= players; ++p)
    r.rules.spawn(r.world, p, {coord(rng), 0, coord(rng)}, r.clock);
  ASSERT_TRUE(r.world.commit(0).ok());
  std::map<ActorId, std::int64_t> damage_log;  // target → damage of its accepted attacks
  std::map<std::pair<ActorId, std::uint64_t>, ActorId> target_of;
  std::set<std::pair<ActorId, std::uint64_t>> pushed, outcomes;
  std::size_t accepted = 0, refused_dead = 0;
  for (std::uint64_t t = 1; t <= 200; ++t) {
    for (ActorId p = 1; p <= players; ++p) {
      ActorId target = 1 + rng() % players;
      if (target == p) target = target % players + 1;
      Action a = r.action(p, ActionKind::kAttack, target);
      ASSERT_TRUE(r.queue.push(a, t));
      pushed.insert({a.actor, a.client_seq});
      target_of[{a.actor, a.client_seq}] = target;
    }
    for (const Outcome& o : r.tick(t)) {
      ASSERT_TRUE(outcomes.insert({o.actor, o.seq}).second) << "an action processed twice";
      if (o.ok) {
        ++accepted;
        damage_log[target_of.at({o.actor, o.seq})] += 10;
      }
      refused_dead += !o.ok && (o.reason == "target is dead" || o.reason == "actor is dead");
    }
  }
  EXPECT_EQ(outcomes, pushed);  // every attack has exactly one outcome
  // Every player's health is exactly its spawn health minus the damage log, and never below 0.
  for (ActorId p = 1; p <= players; ++p) {
    const std::int64_t h = GameRules::health(r.world, p);
    EXPECT_EQ(h, 100 - damage_log[p]) << "player " << p;
    EXPECT_GE(h, 0) << "player " << p;
  }
  EXPECT_GT(accepted, 5000u);      // a real battle happened
  EXPECT_GT(refused_dead, 1000u);  // and the dead stopped fighting
}

TEST(GameRules, ManyPlayersGrabbingOneItemInOneTickGiveOneOwner) {
  Region r(1, {1}, 1'000'000);
  const crdt::EntityId sword = 900'001;
  std::vector<std::pair<ActorId, crdt::Vec3>> crowd;  // all within pickup range (5) of it
  for (ActorId p = 1; p <= 50; ++p)
    crowd.push_back({p, {static_cast<double>(p % 7) * 0.5, 0, static_cast<double>(p % 5) * 0.5}});
  r.setup(sword, {1, 0, 1}, crowd);
  for (ActorId p = 1; p <= 50; ++p)
    r.queue.push(r.action(p, ActionKind::kPickup, sword), 1);
  const auto out = r.tick(1);
  ASSERT_EQ(out.size(), 50u);
  int winners = 0;
  ActorId winner = 0;
  for (const auto& o : out) {
    if (o.ok) {
      ++winners;
      winner = o.actor;
    }
  }
  ASSERT_EQ(winners, 1);
  const auto& claim = std::get<crdt::UniqueItemOwner>(*r.world.store().get({sword, 5}));
  const std::string expected = "already claimed by " + std::to_string(winner) + " at " +
                               claim.winning_claim()->at.to_string();
  for (const auto& o : out) {
    if (!o.ok) {
      EXPECT_EQ(o.reason, expected);
    }
  }
  EXPECT_EQ(*std::get<crdt::UniqueItemOwner>(*r.world.store().get({sword, 5})).owner(), winner);
}

// Two regions, one item: each region's player grabs it in the same tick and each region says yes;
// once the replicas gossip, both agree on one owner — the earlier claim by HLC.
TEST(GameRules, AnItemGrabbedInTwoRegionsAtOnceEndsWithOneOwnerEverywhere) {
  Region eu(1, {1, 2}, 1'000'000), us(2, {1, 2}, 1'000'003);
  const crdt::EntityId relic = 900'002;
  eu.setup(relic, {10, 0, 10}, {{11, {9, 0, 9}}});  // both place it: the same state
  us.setup(relic, {10, 0, 10}, {{22, {11, 0, 11}}, {23, {10, 0, 12}}});
  eu.queue.push(eu.action(11, ActionKind::kPickup, relic), 1);
  us.queue.push(us.action(22, ActionKind::kPickup, relic), 1);
  ASSERT_TRUE(eu.tick(1)[0].ok);
  ASSERT_TRUE(us.tick(1)[0].ok);
  for (int round = 0; round < 5; ++round) {
    eu.world.gossip(round * 100);
    us.world.gossip(round * 100);
    for (auto* from : {&eu, &us}) {
      auto sent = std::move(from->outbox.sent);
      from->outbox.sent.clear();
      for (auto& [to, bytes] : sent)
        (to == 1 ? eu : us).world.receive(from->world.id(), bytes, round * 100);
    }
  }
  const auto& a = std::get<crdt::UniqueItemOwner>(*eu.world.store().get({relic, 5}));
  const auto& b = std::get<crdt::UniqueItemOwner>(*us.world.store().get({relic, 5}));
  EXPECT_EQ(a, b);
  EXPECT_EQ(*a.owner(), 11u);  // eu's clock was 3 ms behind: its claim is the earlier one
  // A later local attempt in the losing region is refused with the winner's name.
  us.queue.push(us.action(23, ActionKind::kPickup, relic), 2);
  const auto late = us.tick(2);
  EXPECT_FALSE(late[0].ok);
  EXPECT_EQ(late[0].reason.rfind("already claimed by 11 ", 0), 0u);
}

// A pickup names an item that exists and lies within pickup_range of the picker — where it stands
// when the pickup runs, after its moves of the same tick. Anything else is refused by name before
// any claim: `no_such_item` (an unknown id, or an entity that is no item, such as a player) or
// `out_of_range`; the item stays unclaimed.
TEST(GameRules, APickupNeedsAnItemThatExistsWithinRange) {
  Region r(1, {1}, 1'000'000);
  const crdt::EntityId gem = 900'010, coin = 900'011;
  r.setup(gem, {0, 0, 0},
          {{1, {6, 0, 0}}, {2, {3, 0, 4}}, {3, {1, 0, 0}}, {4, {112, 0, 0}}, {5, {125, 0, 0}}});
  place_item(r.world, coin, {100, 0, 0});
  ASSERT_TRUE(r.world.commit(1).ok());
  auto move = [&](ActorId p, crdt::Vec3 to) {
    Action m = r.action(p, ActionKind::kMove);
    m.position = to;
    return m;
  };
  struct Case {
    Action action;
    bool ok;
    std::string code, detail;
  };
  const std::vector<Case> cases = {
      {r.action(1, ActionKind::kPickup, gem), false, "out_of_range",
       "item 900010 is 6.0 away; pickup_range is 5.0"},
      {r.action(3, ActionKind::kPickup, 424'242), false, "no_such_item",
       "no item 424242 in the world"},
      {r.action(3, ActionKind::kPickup, 2), false, "no_such_item", "no item 2 in the world"},
      {r.action(2, ActionKind::kPickup, gem), true, "", ""},  // 5.0 away: at the range
      // Walks from 112 towards the coin at 100 (max 10 a tick: to 102), then picks it up.
      {move(4, {100, 0, 0}), true, "", ""},
      {r.action(4, ActionKind::kPickup, coin), true, "", ""},
      // From 125 it gets to 115 only: still out of range.
      {move(5, {100, 0, 0}), true, "", ""},
      {r.action(5, ActionKind::kPickup, coin), false, "out_of_range",
       "item 900011 is 15.0 away; pickup_range is 5.0"},
  };
  std::map<std::pair<ActorId, std::uint64_t>, const Case*> expected;
  for (const Case& c : cases) {
    r.queue.push(c.action, 2);
    expected[{c.action.actor, c.action.client_seq}] = &c;
  }
  const auto out = r.tick(2);
  ASSERT_EQ(out.size(), cases.size());
  for (const Outcome& o : out) {
    const Case& c = *expected.at({o.actor, o.seq});
    EXPECT_EQ(o.ok, c.ok) << o.actor << ": " << o.reason;
    EXPECT_EQ(o.code, c.code) << o.actor;
    EXPECT_EQ(o.reason, c.detail) << o.actor;
  }
  EXPECT_EQ(GameRules::item_owner(r.world, gem), std::optional<ActorId>(2));
  EXPECT_EQ(GameRules::item_owner(r.world, coin), std::optional<ActorId>(4));
  EXPECT_FALSE(GameRules::is_item(r.world, 2));  // a player is no item
}

TEST(GameRules, MovesAreClampedToMaxSpeedAndTheDeadDoNotMove) {
  Region r(1, {1}, 1'000'000);
  r.rules.spawn(r.world, 1, {0, 0, 0}, r.clock);
  Action m = r.action(1, ActionKind::kMove);
  m.position = {30, 0, 40};  // 50 units away; max 10 per tick
  r.queue.push(m, 1);
  ASSERT_TRUE(r.tick(1)[0].ok);
  const auto p = *GameRules::position(r.world, 1);
  EXPECT_DOUBLE_EQ(p.x, 6);
  EXPECT_DOUBLE_EQ(p.z, 8);
  // Kill it, then try to move.
  (void)r.world.write({1, kHealthComponent},
                      [&](replica::ComponentValue& v) -> std::optional<replica::ComponentValue> {
                        return std::get<crdt::Health>(v).decrement(1, 100);
                      });
  Action m2 = r.action(1, ActionKind::kMove);
  m2.position = {7, 0, 8};
  r.queue.push(m2, 2);
  const auto out = r.tick(2);
  EXPECT_FALSE(out[0].ok);
  EXPECT_EQ(out[0].reason, "actor is dead");
  EXPECT_EQ(GameRules::position(r.world, 1)->x, 6);
}

// Movement is limited by elapsed time, not per move action (issue #16): four moves in one tick
// travel one tick's distance, the rest refused as too_fast; a burst of moves held up by a stall
// catches up what the stall owed.
TEST(GameRules, MovementFollowsElapsedTimeNotTheNumberOfMoves) {
  Region r(1, {1}, 1'000'000);
  r.rules.spawn(r.world, 1, {0, 0, 0}, r.clock);
  for (int i = 1; i <= 4; ++i) {
    Action m = r.action(1, ActionKind::kMove);
    m.position = {10.0 * i, 0, 0};
    r.queue.push(m, 1);
  }
  auto out = r.tick(1);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_TRUE(out[0].ok);
  EXPECT_EQ(out[0].limit, Limit::kNone);
  EXPECT_FLOAT_EQ(out[0].granted, 10);
  for (int i = 1; i < 4; ++i) {
    EXPECT_FALSE(out[i].ok) << i;
    EXPECT_EQ(out[i].code, "too_fast") << i;
    EXPECT_EQ(out[i].limit, Limit::kMoveBudget) << i;
    EXPECT_FLOAT_EQ(out[i].asked, 10.0f * i) << i;  // from where the first left it
  }
  EXPECT_DOUBLE_EQ(GameRules::position(r.world, 1)->x, 10);
  // Nothing for five ticks (a stall), then the five ticks' moves in tick 7: all granted.
  for (int i = 1; i <= 6; ++i) {
    Action m = r.action(1, ActionKind::kMove);
    m.position = {10.0 + 10.0 * i, 0, 0};
    r.queue.push(m, 7);
  }
  out = r.tick(7);
  ASSERT_EQ(out.size(), 6u);
  for (int i = 0; i < 6; ++i)
    EXPECT_TRUE(out[i].ok && out[i].limit == Limit::kNone) << i;
  EXPECT_DOUBLE_EQ(GameRules::position(r.world, 1)->x, 70);
  // One move asking for 25 in tick 8: clamped to the tick's 10.
  Action far = r.action(1, ActionKind::kMove);
  far.position = {95, 0, 0};
  r.queue.push(far, 8);
  out = r.tick(8);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].ok);
  EXPECT_EQ(out[0].limit, Limit::kMoveBudget);
  EXPECT_FLOAT_EQ(out[0].asked, 25);
  EXPECT_FLOAT_EQ(out[0].granted, 10);
  EXPECT_DOUBLE_EQ(GameRules::position(r.world, 1)->x, 80);
}

// An attack with aim hits only within aim_tolerance_deg (10) of the direction to the target; a
// miss is refused as `missed`, spends the cooldown and does no damage; without aim, as before.
TEST(GameRules, AnAimedAttackHitsOnlyWithinTheAimTolerance) {
  Region r(1, {1}, 1'000'000);
  // Attacker 1 at the origin, target 2 at (3, 0, 4): 5 units away, direction (0.6, 0, 0.8).
  r.setup(900, {50, 0, 50}, {{1, {0, 0, 0}}, {2, {3, 0, 4}}});
  const auto aimed = [](double deg) {  // rotated by deg about y from the direction to the target
    const double a = std::atan2(0.8, 0.6) + deg * M_PI / 180;
    return crdt::Vec3{std::cos(a), 0, std::sin(a)};
  };
  struct Case {
    std::optional<crdt::Vec3> aim;
    bool hit;
    std::string code, reason;
    float error;
  };
  const Case cases[] = {
      {aimed(0), true, "", "", 0},
      {aimed(9.5), true, "", "", 9.5f},
      {aimed(-10.5), false, "missed", "aim 10.5 deg off the target; aim_tolerance_deg is 10.0",
       10.5f},
      {aimed(180), false, "missed", "aim 180.0 deg off the target; aim_tolerance_deg is 10.0", 180},
      {std::nullopt, true, "", "", -1},  // no aim: a hit, as before aim existed
  };
  std::int64_t health = 100;
  std::uint64_t t = 0;
  for (const Case& c : cases) {
    t += 2;  // off cooldown
    Action a = r.action(1, ActionKind::kAttack, 2);
    a.aim = c.aim;
    ASSERT_TRUE(r.queue.push(a, t));
    const auto out = r.tick_halves(t);
    ASSERT_EQ(out.size(), 1u);
    const auto& [actor, final] = out[0];
    EXPECT_EQ(final.ok, c.hit);
    EXPECT_EQ(final.code, c.code);
    EXPECT_EQ(final.reason, c.reason);
    EXPECT_EQ(actor.limit, c.hit ? Limit::kNone : Limit::kMissed);
    EXPECT_NEAR(actor.aim_error_deg, c.error, 1e-3);
    EXPECT_EQ(actor.actor_at, (crdt::Vec3{0, 0, 0}));
    EXPECT_EQ(actor.target_at, (crdt::Vec3{3, 0, 4}));
    if (c.hit) health -= 10;
    EXPECT_EQ(GameRules::health(r.world, 2), health);
  }
  EXPECT_EQ(health, 70);
  // A miss spends the cooldown: the next tick's attack, aimed true, is refused on cooldown.
  Action miss = r.action(1, ActionKind::kAttack, 2);
  miss.aim = aimed(45);
  ASSERT_TRUE(r.queue.push(miss, t + 2));
  EXPECT_EQ(r.tick(t + 2).at(0).code, "missed");
  Action again = r.action(1, ActionKind::kAttack, 2);
  again.aim = aimed(0);
  ASSERT_TRUE(r.queue.push(again, t + 3));
  const Outcome o = r.tick(t + 3).at(0);
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.reason, "attack on cooldown");
  EXPECT_EQ(o.limit, Limit::kCooldown);
  EXPECT_EQ(GameRules::health(r.world, 2), 70);
}

// With require_aim an attack without aim is refused as `aim_required` before anything is spent: no
// damage, no cooldown (the same tick's aimed attack still hits); an aimed one is judged as ever.
TEST(GameRules, RequireAimRefusesAnAimlessAttackAndSpendsNothing) {
  GameConfig config = Region::test_config();
  config.require_aim = true;
  Region r(1, {1}, 1'000'000, config);
  r.setup(900, {50, 0, 50}, {{1, {0, 0, 0}}, {2, {3, 0, 4}}});
  Action bare = r.action(1, ActionKind::kAttack, 2);
  ASSERT_TRUE(r.queue.push(bare, 2));
  const auto out = r.tick_halves(2);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].second.ok);
  EXPECT_EQ(out[0].second.code, "aim_required");
  EXPECT_EQ(out[0].second.reason, "an attack needs args.aim: require_aim is on");
  EXPECT_EQ(out[0].first.limit, Limit::kNone);
  EXPECT_EQ(GameRules::health(r.world, 2), 100);
  Action aimed = r.action(1, ActionKind::kAttack, 2);
  aimed.aim = crdt::Vec3{0.6, 0, 0.8};
  ASSERT_TRUE(r.queue.push(aimed, 2));
  const Outcome hit = r.tick(2).at(0);
  EXPECT_TRUE(hit.ok) << hit.reason;
  EXPECT_EQ(GameRules::health(r.world, 2), 90);
}

TEST(GameRules, AStudioCanReplaceARule) {
  Region r(1, {1}, 1'000'000);
  int chats = 0;
  r.rules.set(ActionKind::kChat, [&](const Action& a, HandlerContext&) {
    ++chats;
    return Outcome{a.actor, a.client_seq, a.text != "spam", a.text == "spam" ? "muted" : ""};
  });
  Action c1 = r.action(1, ActionKind::kChat);
  c1.text = "hello";
  Action c2 = r.action(1, ActionKind::kChat);
  c2.text = "spam";
  r.queue.push(c1, 1);
  r.queue.push(c2, 1);
  const auto out = r.tick(1);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[0].ok);
  EXPECT_FALSE(out[1].ok);
  EXPECT_EQ(out[1].reason, "muted");
  EXPECT_EQ(chats, 2);
}

}  // namespace
}  // namespace worldline::region
