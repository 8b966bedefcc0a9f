// The detector's packed evidence ring: what a flag shows of a player's last actions is what they
// were (seq, tick and both clocks exact across 32-bit boundaries, positions exact, distances to
// half-float precision), and the half floats round and saturate as IEEE binary16 does.
#include "region/anticheat/evidence_ring.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>

namespace worldline::region::anticheat {
namespace {

TEST(AnticheatRing, HalfFloatsRoundToNearestAndSaturate) {
  for (float exact : {0.0f, -1.0f, 1.0f, 7.5f, 10.0f, 25.0f, 6.0078125f, 65504.0f, -65504.0f})
    EXPECT_EQ(from_half(to_half(exact)), exact) << exact;
  EXPECT_EQ(to_half(1.0f), 0x3c00);
  EXPECT_EQ(to_half(-2.0f), 0xc000);
  // 11 significant bits: between 4 and 8 a step is 1/256.
  EXPECT_EQ(from_half(to_half(6.01f)), 6.01171875f);       // 1538.56 / 256
  EXPECT_EQ(from_half(to_half(6.0f + 1.0f / 512)), 6.0f);  // a tie goes to the even one
  EXPECT_EQ(from_half(to_half(6.0f + 3.0f / 512)), 6.0078125f);
  // Past the largest half, and infinity: the largest.
  EXPECT_EQ(from_half(to_half(70000.0f)), 65504.0f);
  EXPECT_EQ(from_half(to_half(1e30f)), 65504.0f);
  EXPECT_EQ(from_half(to_half(std::numeric_limits<float>::infinity())), 65504.0f);
  EXPECT_TRUE(std::isnan(from_half(to_half(std::numeric_limits<float>::quiet_NaN()))));
  // Subnormal halves: multiples of 2^-24; under half of one is zero.
  EXPECT_EQ(from_half(to_half(std::ldexp(3.0f, -24))), std::ldexp(3.0f, -24));
  EXPECT_EQ(from_half(to_half(std::ldexp(1.0f, -26))), 0.0f);
  EXPECT_EQ(to_half(std::ldexp(1.0f, -14)), 0x0400);  // the smallest normal
}

TEST(AnticheatRing, AnEntryReadsBackAgainstTheNewestAcrossA32BitBoundary) {
  const EvidenceBase newest{5'000'000'005, (1ull << 32) + 3, 1'765'000'000'350};
  EvidenceEntry e;
  e.seq = 5'000'000'000;      // above 2^32: its high bits are the newest's
  e.tick = (1ull << 32) - 4;  // below 2^32, the newest above: the low bits wrap
  e.server_ms = 1'765'000'000'000;
  e.client_ms = e.server_ms - 1234;
  e.x = 12.5f;
  e.z = -3.25f;
  e.asked = 25;
  e.granted = 10;
  e.reach = -1;
  e.kind = ActionKind::kMove;
  e.limit = Limit::kMoveBudget;
  e.ok = true;
  const EvidenceEntry r = unpack(pack(e), newest);
  EXPECT_EQ(r.seq, e.seq);
  EXPECT_EQ(r.tick, e.tick);
  EXPECT_EQ(r.server_ms, e.server_ms);
  EXPECT_EQ(r.client_ms, e.client_ms);
  EXPECT_EQ(r.x, 12.5f);
  EXPECT_EQ(r.z, -3.25f);
  EXPECT_EQ(r.asked, 25.0f);
  EXPECT_EQ(r.granted, 10.0f);
  EXPECT_EQ(r.reach, -1.0f);
  EXPECT_EQ(r.kind, ActionKind::kMove);
  EXPECT_EQ(r.limit, Limit::kMoveBudget);
  EXPECT_TRUE(r.ok);
  EXPECT_FALSE(clock_saturated(pack(e)));
}

TEST(AnticheatRing, MissingClocksStayMissingAndAWildClockSaturates) {
  const EvidenceBase newest{9, 100, 2'000'000};
  EvidenceEntry e;
  e.seq = 8;
  e.tick = 99;
  e.server_ms = 0;  // no stamp
  e.client_ms = 0;  // no client clock
  e.kind = ActionKind::kAttack;
  e.reach = 7.5f;
  e.limit = Limit::kRange;
  EvidenceEntry r = unpack(pack(e), newest);
  EXPECT_EQ(r.server_ms, 0u);
  EXPECT_EQ(r.client_ms, 0u);
  EXPECT_EQ(r.reach, 7.5f);
  EXPECT_EQ(r.limit, Limit::kRange);
  EXPECT_FALSE(r.ok);
  // Every limit packs and unpacks as itself (kMissed needs a third bit).
  for (Limit l :
       {Limit::kNone, Limit::kMoveBudget, Limit::kCooldown, Limit::kRange, Limit::kMissed}) {
    e.limit = l;
    EXPECT_EQ(unpack(pack(e), newest).limit, l);
    EXPECT_EQ(unpack(pack(e), newest).server_ms, 0u);  // the third bit is not the others'
  }
  e.limit = Limit::kRange;

  e.server_ms = 1'999'950;
  e.client_ms = e.server_ms + (1ull << 40);  // a clock 35 years ahead
  const PackedEvidence p = pack(e);
  EXPECT_TRUE(clock_saturated(p));
  r = unpack(p, newest);
  EXPECT_EQ(r.server_ms, 1'999'950u);
  EXPECT_EQ(r.client_ms,
            1'999'950u + static_cast<std::uint64_t>(std::numeric_limits<std::int32_t>::max()));
  e.client_ms = 5;  // far behind: the offset is negative
  EXPECT_EQ(unpack(pack(e), newest).client_ms, 5u);
}

// Through the detector: a flag's evidence is the player's last kEvidenceWindow actions, oldest
// first, as they were observed.
TEST(AnticheatRing, AFlagsEvidenceIsTheLastActionsAsObserved) {
  AnticheatConfig c;
  Detector d(c);
  const ActorId player = 77;
  std::uint64_t seq = (1ull << 32) - 22;                // the seqs cross 2^32 in the window,
  const std::uint64_t first_ms = (1ull << 32) - 2'000;  // and the server's ms
  const auto beyond = [](std::uint64_t i) { return i >= 20; };
  std::optional<Flag> flag;
  for (std::uint64_t i = 0; i < 200 && !flag; ++i) {
    Action a;
    a.actor = player;
    a.kind = ActionKind::kAttack;
    a.client_seq = ++seq;
    a.stamp = crdt::Hlc{first_ms + i * 100, 0, 1};
    a.client_time_ms = a.stamp.physical_ms - 40;
    Outcome o;  // 20 attacks in range, then from beyond it (5 × 1.2)
    o.ok = !beyond(i);
    o.reach = beyond(i) ? 9.5f : 2.0f;
    o.limit = beyond(i) ? Limit::kRange : Limit::kNone;
    d.observe(a, o, 1000 + i * 2);
    for (Flag& f : d.take_flags())
      flag = std::move(f);
  }
  ASSERT_TRUE(flag);
  ASSERT_EQ(flag->evidence.size(), kEvidenceWindow);
  const std::uint64_t last = flag->tick;
  for (std::size_t k = 0; k < kEvidenceWindow; ++k) {
    const EvidenceEntry& e = flag->evidence[k];
    const std::uint64_t back = kEvidenceWindow - 1 - k;  // actions before the flagged one
    const std::uint64_t i = (last - 1000) / 2 - back;
    EXPECT_EQ(e.tick, 1000 + i * 2);
    EXPECT_EQ(e.seq, (1ull << 32) - 22 + i + 1);
    EXPECT_EQ(e.server_ms, first_ms + i * 100);
    EXPECT_EQ(e.client_ms, first_ms + i * 100 - 40);
    EXPECT_EQ(e.kind, ActionKind::kAttack);
    EXPECT_EQ(e.reach, beyond(i) ? 9.5f : 2.0f);
    EXPECT_EQ(e.limit, beyond(i) ? Limit::kRange : Limit::kNone);
    EXPECT_EQ(e.ok, !beyond(i));
  }
  EXPECT_EQ(flag->tick, 1000 + 25 * 2);  // the sixth attack from beyond range: sum 4.8 of 3
  EXPECT_GT(flag->evidence.back().seq, 1ull << 32);
  EXPECT_LT(flag->evidence.front().seq, 1ull << 32);
  EXPECT_GT(flag->evidence.back().server_ms, 1ull << 32);
  EXPECT_LT(flag->evidence.front().server_ms, 1ull << 32);
}

}  // namespace
}  // namespace worldline::region::anticheat
