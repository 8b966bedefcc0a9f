#include "loadgen/cheats.h"

#include <gtest/gtest.h>

namespace worldline::loadgen {
namespace {

TEST(Population, ParsesGroupsInOrderAndLabelsTheirIdRanges) {
  auto p = parse_population("speed50=10,teleport=5,rapid_fire=0", true);
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_EQ(p.value().size(), 2u);  // a group of 0 is left out
  EXPECT_EQ(p.value()[0].behaviour, Behaviour::kSpeed50);
  EXPECT_EQ(p.value()[0].count, 10u);
  EXPECT_EQ(p.value()[1].behaviour, Behaviour::kTeleport);
  EXPECT_EQ(behaviour_of(p.value(), 0), Behaviour::kSpeed50);
  EXPECT_EQ(behaviour_of(p.value(), 9), Behaviour::kSpeed50);
  EXPECT_EQ(behaviour_of(p.value(), 10), Behaviour::kTeleport);
  EXPECT_EQ(behaviour_of(p.value(), 14), Behaviour::kTeleport);
  EXPECT_EQ(behaviour_of(p.value(), 15), Behaviour::kHonest);
  EXPECT_EQ(labels(p.value(), 101), "speed50: players 101-110\nteleport: players 111-115\n");
}

TEST(Population, RefusesUnknownKindsBadCountsAndTheOtherListsKinds) {
  auto unknown = parse_population("wallhack=3", true);
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("unknown kind 'wallhack'"), std::string::npos);
  EXPECT_NE(unknown.error().message.find("speed10, speed50, teleport, clock5, rapid_fire, "
                                         "regular_bot"),
            std::string::npos);
  EXPECT_FALSE(parse_population("lag_spikes=3", true));  // honest, not a cheat
  EXPECT_FALSE(parse_population("speed50=3", false));    // a cheat, not a hard honest player
  EXPECT_TRUE(parse_population("lag_spikes=3,skilled=2", false));
  EXPECT_FALSE(parse_population("speed50=x", true));
  EXPECT_FALSE(parse_population("speed50=-1", true));
  EXPECT_FALSE(parse_population("speed50", true));
  auto empty = parse_population("", true);
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty.value().empty());
}

TEST(Conduct, HonestStepsAreOneTickAtMostAndNeverFasterThanTheirTime) {
  const Conduct honest(Behaviour::kHonest, 1), lagged(Behaviour::kLagSpikes, 1);
  EXPECT_DOUBLE_EQ(honest.step(200, 10, 50), 10);  // four ticks passed: one tick's worth
  EXPECT_DOUBLE_EQ(honest.step(25, 10, 50), 5);    // half a tick: half of it
  EXPECT_DOUBLE_EQ(lagged.step(1000, 10, 50), 10);
  EXPECT_DOUBLE_EQ(honest.step(-5, 10, 50), 0);
}

TEST(Conduct, SkilledRunFlatOutAndSpeedHacksClaimMore) {
  EXPECT_DOUBLE_EQ(Conduct(Behaviour::kSkilled, 1).step(100, 10, 50), 20);
  EXPECT_DOUBLE_EQ(Conduct(Behaviour::kSkilled, 1).step(400, 10, 50), 29);  // under three ticks
  EXPECT_DOUBLE_EQ(Conduct(Behaviour::kSpeed10, 1).step(100, 10, 50), 22);
  EXPECT_DOUBLE_EQ(Conduct(Behaviour::kSpeed50, 1).step(100, 10, 50), 30);
}

TEST(Conduct, TheFastClockClaimsFivePercentMoreTimeAndActsSooner) {
  Conduct fast(Behaviour::kFastClock, 7), honest(Behaviour::kHonest, 7);
  EXPECT_EQ(fast.claimed_ms(1'000'000 + 10'000, 1'000'000), 1'000'000u + 10'500u);
  EXPECT_EQ(honest.claimed_ms(1'000'000 + 10'000, 1'000'000), 1'010'000u);
  double fast_sum = 0, honest_sum = 0;
  for (int i = 0; i < 2000; ++i) {
    fast_sum += fast.next_wait_ms(200);
    honest_sum += honest.next_wait_ms(200);
  }
  // Same seed, same draws: the fast client waits exactly 1/1.05 as long.
  EXPECT_NEAR(fast_sum * 1.05, honest_sum, 1e-6 * honest_sum);
}

TEST(Conduct, HumansSpreadTheirWaitsAndTheBotKeepsItsPeriod) {
  Conduct human(Behaviour::kHonest, 3), bot(Behaviour::kRegularBot, 3);
  double lo = 1e9, hi = 0;
  for (int i = 0; i < 1000; ++i) {
    const double w = human.next_wait_ms(200);
    lo = std::min(lo, w);
    hi = std::max(hi, w);
    EXPECT_EQ(bot.next_wait_ms(200), 200);
  }
  EXPECT_GE(lo, 120);
  EXPECT_LE(hi, 280);
  EXPECT_LT(lo, 140);  // the spread is used, not just allowed
  EXPECT_GT(hi, 260);
}

TEST(Conduct, ATeleporterJumpsFortyToEightyUnitsEveryThreeToSixSeconds) {
  Conduct t(Behaviour::kTeleport, 11);
  std::vector<std::uint64_t> at;
  for (std::uint64_t ms = 0; ms <= 60'000; ms += 50) {
    if (const auto jump = t.jump_due(1'000'000 + ms)) {
      EXPECT_GE(*jump, 40);
      EXPECT_LE(*jump, 80);
      at.push_back(ms);
    }
  }
  ASSERT_GE(at.size(), 10u);  // 60 s at one jump per 3-6 s
  ASSERT_LE(at.size(), 20u);
  EXPECT_GE(at[0], 3000u);
  for (std::size_t i = 1; i < at.size(); ++i) {
    EXPECT_GE(at[i] - at[i - 1], 3000u);
    EXPECT_LE(at[i] - at[i - 1], 6050u);
  }
  EXPECT_FALSE(Conduct(Behaviour::kHonest, 11).jump_due(1'000'000 + 10'000));
}

TEST(Conduct, LagSpikesStallForThreeTenthsToOneSecondEveryThreeToFifteen) {
  Conduct lag(Behaviour::kLagSpikes, 5);
  std::vector<std::pair<std::uint64_t, std::uint64_t>> stalls;  // [from, until) in ms
  bool in = false;
  for (std::uint64_t ms = 0; ms <= 120'000; ms += 10) {
    const bool s = lag.stalled(1'000'000 + ms);
    if (s && !in) stalls.push_back({ms, ms});
    if (s) stalls.back().second = ms + 10;
    in = s;
  }
  ASSERT_GE(stalls.size(), 7u);  // 120 s at one stall per 3.3-16 s
  for (const auto& [from, until] : stalls) {
    EXPECT_GE(until - from, 300u);
    EXPECT_LE(until - from, 1010u);
  }
  EXPECT_GE(stalls[0].first, 3000u);
  EXPECT_FALSE(Conduct(Behaviour::kSkilled, 5).stalled(1'000'000 + 5'000));
}

TEST(Conduct, OnlyTheCheatsAreCheats) {
  EXPECT_FALSE(is_cheat(Behaviour::kHonest));
  EXPECT_FALSE(is_cheat(Behaviour::kLagSpikes));
  EXPECT_FALSE(is_cheat(Behaviour::kSkilled));
  EXPECT_TRUE(is_cheat(Behaviour::kSpeed10));
  EXPECT_TRUE(is_cheat(Behaviour::kRapidFire));
  EXPECT_TRUE(Conduct(Behaviour::kRapidFire, 1).doubles_attacks());
  EXPECT_FALSE(Conduct(Behaviour::kRegularBot, 1).doubles_attacks());
  EXPECT_TRUE(Conduct(Behaviour::kRegularBot, 1).fights());
}

}  // namespace
}  // namespace worldline::loadgen
