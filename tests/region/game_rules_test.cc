// The brief's scenarios at the level of one region's rules: a large PvP battle, many players
// grabbing one item in the same tick, the same contest across two regions through the replica,
// and movement limits.
#include "region/game_rules.h"

#include <gtest/gtest.h>

#include <map>
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
  GameRules rules{GameConfig{}};
  ActionQueue queue{PriorityRules::defaults()};
  std::map<ActorId, std::uint64_t> seq;

  Region(replica::ReplicaId id, std::vector<replica::ReplicaId> peers, std::uint64_t start_ms)
      : wall(start_ms),
        clock(id, wall, 10'000),
        world(ReplicaOptions{id, peers}, registry, journal, outbox) {}

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
  const std::string expected = "already claimed by " + std::to_string(winner) + "u at " +
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
  EXPECT_EQ(late[0].reason.rfind("already claimed by 11u", 0), 0u);
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
