// Flag records: what the detector raises is kept in the world as one line, read back exactly;
// anything else a peer may send is refused with a reason.
#include "region/anticheat/flag_record.h"

#include <gtest/gtest.h>

namespace worldline::region::anticheat {
namespace {

// Check i's feature in sample(): only clock (1) and bot_timing (1.25) at or over 1.
double feature_of(int i) {
  return i < kChecksBeforeAim ? 0.25 * i : 0.1 * (i - kChecksBeforeAim + 1);
}

Flag sample() {
  Flag f;
  f.id = (std::uint64_t{3} << 40) | 129;
  f.player = 4242;
  f.tick = 1200;
  f.server_ms = 1'765'000'123'456;
  f.confidence = 0.9731;
  for (int i = 0; i < kChecks; ++i)
    f.all[static_cast<std::size_t>(i)] = {static_cast<Check>(i), feature_of(i), 1.5 + i, 3};
  f.fired = {f.all[5], f.all[4]};  // features 1.25 and 1
  EvidenceEntry e;
  e.seq = 17;
  e.tick = 1199;
  e.client_ms = 1'765'000'123'400;
  e.server_ms = 1'765'000'123'450;
  e.kind = ActionKind::kMove;
  e.x = 12.5f;
  e.z = -3.25f;
  e.asked = 25;
  e.granted = 10;
  e.reach = -1;
  e.limit = Limit::kMoveBudget;
  e.ok = true;
  EvidenceEntry a = e;
  a.seq = 18;
  a.kind = ActionKind::kAttack;
  a.reach = 7.5f;
  a.limit = Limit::kRange;
  a.ok = false;
  f.evidence = {e, a};
  return f;
}

TEST(FlagRecord, AFlagReadsBackAsWritten) {
  const Flag f = sample();
  const std::string line = format_flag(f);
  const auto back = parse_flag(line);
  ASSERT_TRUE(back.ok()) << back.error().message << "\n" << line;
  const Flag& g = back.value();
  EXPECT_EQ(g.id, f.id);
  EXPECT_EQ(g.player, f.player);
  EXPECT_EQ(g.tick, f.tick);
  EXPECT_EQ(g.server_ms, f.server_ms);
  EXPECT_NEAR(g.confidence, f.confidence, 1e-6);
  for (int i = 0; i < kChecks; ++i) {
    EXPECT_EQ(g.all[static_cast<std::size_t>(i)].check, static_cast<Check>(i));
    EXPECT_NEAR(g.all[static_cast<std::size_t>(i)].feature, feature_of(i), 1e-9);
    EXPECT_NEAR(g.all[static_cast<std::size_t>(i)].statistic, 1.5 + i, 1e-9);
  }
  ASSERT_EQ(g.fired.size(), 2u);  // feature >= 1, strongest first
  EXPECT_EQ(g.fired[0].check, Check::kBotTiming);
  EXPECT_EQ(g.fired[1].check, Check::kClock);
  ASSERT_EQ(g.evidence.size(), 2u);
  EXPECT_EQ(g.evidence[0].seq, 17u);
  EXPECT_EQ(g.evidence[0].client_ms, f.evidence[0].client_ms);
  EXPECT_EQ(g.evidence[0].kind, ActionKind::kMove);
  EXPECT_FLOAT_EQ(g.evidence[0].x, 12.5f);
  EXPECT_FLOAT_EQ(g.evidence[0].z, -3.25f);
  EXPECT_FLOAT_EQ(g.evidence[0].asked, 25);
  EXPECT_FLOAT_EQ(g.evidence[0].granted, 10);
  EXPECT_EQ(g.evidence[0].limit, Limit::kMoveBudget);
  EXPECT_TRUE(g.evidence[0].ok);
  EXPECT_EQ(g.evidence[1].kind, ActionKind::kAttack);
  EXPECT_FLOAT_EQ(g.evidence[1].reach, 7.5f);
  EXPECT_EQ(g.evidence[1].limit, Limit::kRange);
  EXPECT_FALSE(g.evidence[1].ok);
  EXPECT_EQ(format_flag(g), line);  // a fixed point
}

// A node from before the aim checks wrote six check values: its lines still read, the aim
// checks as 0, and they format back in today's form.
TEST(FlagRecord, ALineFromBeforeTheAimChecksStillReads) {
  const std::string old =
      "v1 id=3298534883457 p=4242 t=1200 ms=1765000123456 c=0.9731 "
      "f=speed:0:1.5:3,teleport:0.25:2.5:3,rapid_fire:0.5:3.5:3,reach:0.75:4.5:3,clock:1:5.5:3,"
      "bot_timing:1.25:6.5:3 e=17/1199/1765000123400/1765000123450/2/12.5/-3.25/25/10/-1/1/1";
  const auto back = parse_flag(old);
  ASSERT_TRUE(back.ok()) << back.error().message;
  const Flag& g = back.value();
  EXPECT_EQ(g.player, 4242u);
  EXPECT_EQ(g.all[5].check, Check::kBotTiming);
  EXPECT_EQ(g.all[5].feature, 1.25);
  for (int i = kChecksBeforeAim; i < kChecks; ++i) {
    EXPECT_EQ(g.all[static_cast<std::size_t>(i)].check, static_cast<Check>(i));
    EXPECT_EQ(g.all[static_cast<std::size_t>(i)].feature, 0);
  }
  ASSERT_EQ(g.fired.size(), 2u);
  EXPECT_EQ(g.fired[0].check, Check::kBotTiming);
  const std::string now = format_flag(g);
  EXPECT_NE(now.find(",bot_timing:1.25:6.5:3,snap:0:0:0,reaction:0:0:0,hit_ratio:0:0:0 "),
            std::string::npos)
      << now;
  EXPECT_TRUE(parse_flag(now).ok());
  // Seven, or a missing check in the middle, is neither form.
  std::string seven = old;
  seven.insert(seven.find(" e="), ",snap:0:0:0");
  EXPECT_FALSE(parse_flag(seven).ok());
}

TEST(FlagRecord, WhatIsNotAFlagIsRefusedWithAReason) {
  const std::string good = format_flag(sample());
  const std::vector<std::string> bad = {
      "",
      "e1:5",  // a pending claim's form, in the wrong set
      "v2" + good.substr(2),
      good.substr(0, good.size() / 2),
      good + " extra=1",
  };
  for (const std::string& line : bad) {
    const auto r = parse_flag(line);
    ASSERT_FALSE(r.ok()) << line;
    EXPECT_NE(r.error().message.find("not a flag record"), std::string::npos) << line;
  }
  std::string nan = good;
  ASSERT_NE(nan.find(" c=0.9731 "), std::string::npos) << good;
  nan.replace(nan.find(" c=0.9731 "), 10, " c=nan ");
  EXPECT_FALSE(parse_flag(nan).ok());
  std::string kind = good;
  ASSERT_NE(kind.find("/2/12.5"), std::string::npos) << good;  // kMove
  kind.replace(kind.find("/2/12.5"), 2, "/9");                 // no such action kind
  EXPECT_FALSE(parse_flag(kind).ok());
  EXPECT_FALSE(parse_flag(std::string(20'000, 'v')).ok());
  // Only what format_flag writes: no hex or '+' numbers (strtod reads them), checks in order.
  std::string hex = good;
  hex.replace(hex.find(" c=0.9731 "), 10, " c=0x1p-1 ");
  EXPECT_FALSE(parse_flag(hex).ok());
  std::string plus = good;
  plus.replace(plus.find(" c=0.9731 "), 10, " c=+0.9731 ");
  EXPECT_FALSE(parse_flag(plus).ok());
  std::string order = good;
  order.replace(order.find("f=speed:"), 8, "f=reach:");
  EXPECT_FALSE(parse_flag(order).ok());
}

// v2, what the node writes: the region and the score z ride along (z is what recalibration
// fits on); v1 lines, from the first nodes, still read, with the region from the id's high bits.
TEST(FlagRecord, V2KeepsRegionAndScoreAndV1StillReads) {
  const FlagRecord record{sample(), 3, 11.25};
  const std::string line = format_flag(record);
  EXPECT_EQ(line.rfind("v2 id=" + std::to_string(record.flag.id) + " r=3 p=4242 t=1200 ", 0), 0u)
      << line;
  EXPECT_NE(line.find(" c=0.9731 z=11.25 f=speed:0:"), std::string::npos) << line;
  const auto back = parse_flag_record(line);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back.value().region, 3u);
  EXPECT_EQ(back.value().score, 11.25);
  EXPECT_EQ(back.value().flag.id, record.flag.id);
  EXPECT_EQ(back.value().flag.evidence.size(), 2u);
  EXPECT_EQ(format_flag(back.value()), line);  // one spelling
  ASSERT_TRUE(parse_flag(line).ok());          // parse_flag reads both
  EXPECT_EQ(parse_flag(line).value().player, 4242u);

  const std::string v1 = format_flag(sample());
  const auto old = parse_flag_record(v1);
  ASSERT_TRUE(old.ok()) << old.error().message;
  EXPECT_EQ(old.value().region, 3u);  // sample()'s id is 3 << 40 | 129
  EXPECT_FALSE(old.value().score.has_value());

  const std::string rest = line.substr(line.find(" p="));
  for (const std::string& bad : {
           "v2 id=1 p=4242" + line.substr(line.find(" t=")),  // no r=
           "v2 id=1 r=70000" + rest,                          // not a region id
           "v2 id=1 r=x" + rest,                              //
           "v1 id=1 r=3" + rest,                              // v1 has no r=
           "v2" + v1.substr(2),                               // v2 needs r= and z=
       }) {
    EXPECT_FALSE(parse_flag_record(bad).ok()) << bad;
  }
  std::string no_z = line;
  no_z.replace(no_z.find(" z=11.25"), 8, " z=inf");
  EXPECT_FALSE(parse_flag_record(no_z).ok()) << no_z;
}

}  // namespace
}  // namespace worldline::region::anticheat
