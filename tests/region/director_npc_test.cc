// NPC behaviour (region/director/npc.h) and rewards by contribution (rewards.h): each transition
// of the brain with the exact action it takes, the cooldown, the flee threshold, the dead; the
// NPC id range; the gold split adding up to the total.
#include <gtest/gtest.h>

#include <vector>

#include "region/director/npc.h"
#include "region/director/rewards.h"

namespace worldline::region::director {
namespace {

using Kind = NpcAction::Kind;

NpcState at(double x, double z, std::int64_t health = 50, std::int64_t max_health = 50) {
  NpcState s;
  s.position = {x, 0, z};
  s.health = health;
  s.max_health = max_health;
  return s;
}

TEST(NpcBrain, IdleWithNobodyInAggroRange) {
  const NpcBehaviour b;  // aggro 30
  const std::vector<SeenPlayer> far{{7, {31, 0, 0}}};
  const NpcDecision d = decide(at(0, 0), far, 1, b);
  EXPECT_EQ(d.next.mode, NpcMode::kIdle);
  EXPECT_EQ(d.action, NpcAction{});
  EXPECT_EQ(decide(at(0, 0), {}, 1, b).next.mode, NpcMode::kIdle);
}

TEST(NpcBrain, ChasesTheNearestPlayerInRangeOneStepAtATime) {
  const NpcBehaviour b;  // step 5, attack range 4
  const std::vector<SeenPlayer> players{{9, {0, 0, 25}}, {7, {20, 0, 0}}};
  const NpcDecision d = decide(at(0, 0), players, 1, b);
  EXPECT_EQ(d.next.mode, NpcMode::kChase);
  ASSERT_EQ(d.action.kind, Kind::kMove);
  EXPECT_DOUBLE_EQ(d.action.to.x, 5);  // towards player 7, the nearer
  EXPECT_DOUBLE_EQ(d.action.to.z, 0);
}

TEST(NpcBrain, ATieGoesToTheLowerIdAndTheChaseStopsAtHalfTheAttackRange) {
  const NpcBehaviour b;
  const std::vector<SeenPlayer> players{{9, {0, 0, 6}}, {7, {0, 0, -6}}};
  const NpcDecision d = decide(at(0, 0), players, 1, b);
  ASSERT_EQ(d.action.kind, Kind::kMove);
  EXPECT_DOUBLE_EQ(d.action.to.z, -4);  // 6 − 4/2: it stops 2 short of player 7
  EXPECT_DOUBLE_EQ(d.action.to.x, 0);
}

TEST(NpcBrain, AttacksWithinRangeThenWaitsOutItsCooldown) {
  NpcBehaviour b;
  b.attack_cooldown_ticks = 10;
  const std::vector<SeenPlayer> close{{7, {3, 0, 0}}};
  NpcDecision d = decide(at(0, 0), close, 100, b);
  EXPECT_EQ(d.next.mode, NpcMode::kAttack);
  EXPECT_EQ(d.action, (NpcAction{Kind::kAttack, {}, 7}));
  EXPECT_EQ(d.next.last_attack_tick, 100u);
  for (std::uint64_t t = 101; t < 110; ++t) {
    d = decide(d.next, close, t, b);
    EXPECT_EQ(d.next.mode, NpcMode::kAttack) << t;
    EXPECT_EQ(d.action.kind, Kind::kNone) << "swung on tick " << t << " within the cooldown";
    EXPECT_EQ(d.next.last_attack_tick, 100u);
  }
  d = decide(d.next, close, 110, b);
  EXPECT_EQ(d.action, (NpcAction{Kind::kAttack, {}, 7}));
  EXPECT_EQ(d.next.last_attack_tick, 110u);
}

TEST(NpcBrain, FleesAwayFromTheNearestAtTheThresholdAndNotAbove) {
  const NpcBehaviour b;  // flee at ≤ 25 % of max health
  const std::vector<SeenPlayer> close{{7, {3, 0, 0}}};
  NpcDecision d = decide(at(0, 0, 26, 100), close, 1, b);
  EXPECT_EQ(d.next.mode, NpcMode::kAttack);  // 26 % still fights
  d = decide(at(0, 0, 25, 100), close, 1, b);
  EXPECT_EQ(d.next.mode, NpcMode::kFlee);
  ASSERT_EQ(d.action.kind, Kind::kMove);
  EXPECT_DOUBLE_EQ(d.action.to.x, -5);  // a full step away from the player at +x
  EXPECT_DOUBLE_EQ(d.action.to.z, 0);
  // Out of the player's reach it calms down.
  d = decide(at(0, 0, 25, 100), std::vector<SeenPlayer>{{7, {40, 0, 0}}}, 2, b);
  EXPECT_EQ(d.next.mode, NpcMode::kIdle);
  EXPECT_EQ(d.action.kind, Kind::kNone);
}

TEST(NpcBrain, TheDeadDoNothingWhateverIsNear) {
  const NpcBehaviour b;
  const std::vector<SeenPlayer> close{{7, {1, 0, 0}}};
  for (std::int64_t h : {0, -15}) {
    NpcState s = at(0, 0, h);
    s.mode = NpcMode::kAttack;
    const NpcDecision d = decide(s, close, 50, b);
    EXPECT_EQ(d.next.mode, NpcMode::kDead);
    EXPECT_EQ(d.action, NpcAction{});
    EXPECT_EQ(d.next.last_attack_tick, std::nullopt);
  }
}

TEST(NpcIds, CarryTheMarkerBitAndDifferByIndexAndInstance) {
  const InstanceId a = instance_id("camp", 1), b = instance_id("camp", 2);
  EXPECT_TRUE(is_npc(npc_entity_id(a, 0)));
  EXPECT_FALSE(is_npc(42));
  EXPECT_FALSE(is_npc((std::uint64_t{1} << 63) - 1));
  EXPECT_NE(npc_entity_id(a, 0), npc_entity_id(a, 1));
  EXPECT_NE(npc_entity_id(a, 0), npc_entity_id(b, 0));
  EXPECT_EQ(npc_entity_id(a, 5) & (kMaxNpcsPerInstance - 1), 5u);
  EXPECT_EQ(npc_entity_id(a, 5), npc_entity_id(a, 5));  // every region derives the same id
}

TEST(Rewards, GoldIsSplitInProportionToDamageAndAddsUpToTheTotal) {
  EXPECT_EQ(split_gold(400, {{11, 30}, {22, 10}}),
            (std::map<crdt::EntityId, std::uint64_t>{{11, 300}, {22, 100}}));
  // 100 / 3 each: one piece left over goes to the largest remainder (all equal: lowest id).
  EXPECT_EQ(split_gold(100, {{5, 10}, {6, 10}, {7, 10}}),
            (std::map<crdt::EntityId, std::uint64_t>{{5, 34}, {6, 33}, {7, 33}}));
  // 10 × 2/3 = 6.67 and 10 × 1/3 = 3.33: the larger remainder gets the piece.
  EXPECT_EQ(split_gold(10, {{1, 1}, {2, 2}}),
            (std::map<crdt::EntityId, std::uint64_t>{{1, 3}, {2, 7}}));
}

TEST(Rewards, NobodyWithoutDamageAndNothingWithoutContributors) {
  EXPECT_EQ(split_gold(50, {{1, 0}, {2, 20}, {3, -4}}),
            (std::map<crdt::EntityId, std::uint64_t>{{2, 50}}));
  EXPECT_TRUE(split_gold(50, {}).empty());
  EXPECT_TRUE(split_gold(0, {{1, 10}}).empty());
}

}  // namespace
}  // namespace worldline::region::director
