#include "crdt/hlc.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <limits>

namespace worldline::crdt {
namespace {

TEST(Hlc, OrderIsPhysicalThenLogicalThenNode) {
  EXPECT_LT((Hlc{1, 9, 9}), (Hlc{2, 0, 0}));
  EXPECT_LT((Hlc{5, 1, 9}), (Hlc{5, 2, 0}));
  EXPECT_LT((Hlc{5, 2, 1}), (Hlc{5, 2, 2}));  // node id breaks the tie
  EXPECT_EQ((Hlc{5, 2, 2}), (Hlc{5, 2, 2}));
  EXPECT_EQ((Hlc{1700000000123, 4, 7}).to_string(), "1700000000123.4@7");
  EXPECT_TRUE(Hlc{}.is_zero());
}

TEST(HlcClock, NowFollowsPhysicalTimeWhenItAdvances) {
  ManualClock wall(1000);
  HlcClock clock(3, wall, 500);
  EXPECT_EQ(clock.now(), (Hlc{1000, 0, 3}));
  EXPECT_EQ(clock.now(), (Hlc{1000, 1, 3}));
  wall.set(1010);
  EXPECT_EQ(clock.now(), (Hlc{1010, 0, 3}));
  EXPECT_EQ(clock.node(), 3u);
  EXPECT_EQ(clock.max_skew_ms(), 500u);
}

TEST(HlcClock, NowStaysMonotonicWhenPhysicalClockStepsBackwards) {
  ManualClock wall(5000);
  HlcClock clock(1, wall, 500);
  const Hlc a = clock.now();
  wall.set(4000);  // NTP stepped the clock back a second
  const Hlc b = clock.now();
  const Hlc c = clock.now();
  EXPECT_EQ(a, (Hlc{5000, 0, 1}));
  EXPECT_EQ(b, (Hlc{5000, 1, 1}));
  EXPECT_EQ(c, (Hlc{5000, 2, 1}));
  wall.set(5001);
  EXPECT_EQ(clock.now(), (Hlc{5001, 0, 1}));
}

TEST(HlcClock, ReceiveFromAheadRemoteAdoptsItsTime) {
  ManualClock wall(1000);
  HlcClock clock(1, wall, 500);
  auto r = clock.receive(Hlc{1200, 7, 2});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), (Hlc{1200, 8, 1}));
}

TEST(HlcClock, ReceiveFromBehindRemoteBumpsLocalLogical) {
  ManualClock wall(1000);
  HlcClock clock(1, wall, 500);
  clock.now();
  clock.now();  // (1000, 1)
  auto r = clock.receive(Hlc{900, 50, 2});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), (Hlc{1000, 2, 1}));
}

TEST(HlcClock, ReceiveWithEqualPhysicalTakesMaxLogicalPlusOne) {
  ManualClock wall(1000);
  HlcClock clock(1, wall, 500);
  clock.now();  // (1000, 0)
  auto r = clock.receive(Hlc{1000, 6, 2});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), (Hlc{1000, 7, 1}));
}

TEST(HlcClock, ReceiveWhenPhysicalClockIsAheadOfBothResetsLogical) {
  ManualClock wall(1000);
  HlcClock clock(1, wall, 500);
  clock.now();
  wall.set(2000);
  auto r = clock.receive(Hlc{1500, 3, 2});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), (Hlc{2000, 0, 1}));
}

TEST(HlcClock, ReceiveRefusesFarFutureTimestampAndStaysUnchanged) {
  ManualClock wall(1000);
  HlcClock clock(1, wall, 500);
  const Hlc before = clock.now();
  auto r = clock.receive(Hlc{1501, 0, 2});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kClockSkew);
  EXPECT_EQ(r.error().message,
            "remote timestamp 1501.0@2 is 501 ms ahead of local physical time (max skew 500 ms)");
  EXPECT_EQ(r.error().to_string().rfind("clock_skew: ", 0), 0u);
  EXPECT_EQ(clock.last(), before);
  // Exactly at the limit is accepted.
  auto ok = clock.receive(Hlc{1500, 0, 2});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok.value(), (Hlc{1500, 1, 1}));
}

TEST(HlcClock, LogicalCounterOverflowMovesPhysicalForward) {
  ManualClock wall(1000);
  HlcClock clock(1, wall, 500);
  auto r = clock.receive(Hlc{1000, std::numeric_limits<std::uint32_t>::max() - 1, 2});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), (Hlc{1000, std::numeric_limits<std::uint32_t>::max(), 1}));
  EXPECT_EQ(clock.now(), (Hlc{1001, 0, 1}));
}

TEST(HlcClock, SystemClockReadsWallTime) {
  SystemClock wall;
  const auto t = wall.now_ms();
  EXPECT_GT(t, 1'600'000'000'000u);  // after 2020
  HlcClock clock(9, wall, 1000);
  EXPECT_GE(clock.now().physical_ms, t);
}

// Invariants 1 and 2 of hlc.h under arbitrary physical clock behaviour and remote stamps.
RC_GTEST_PROP(HlcClockProps, EveryEventIsLaterThanEverythingBefore, ()) {
  ManualClock wall(*rc::gen::inRange<std::uint64_t>(0, 1000));
  HlcClock clock(1, wall, 100);
  Hlc last = clock.now();
  const int steps = *rc::gen::inRange(1, 200);
  for (int i = 0; i < steps; ++i) {
    wall.set(*rc::gen::inRange<std::uint64_t>(0, 1200));  // jumps both ways
    if (*rc::gen::arbitrary<bool>()) {
      const Hlc next = clock.now();
      RC_ASSERT(last < next);
      last = next;
    } else {
      const Hlc remote{*rc::gen::inRange<std::uint64_t>(0, 1400),
                       *rc::gen::inRange<std::uint32_t>(0, 5), 2};
      auto r = clock.receive(remote);
      if (r.ok()) {
        RC_ASSERT(last < r.value());
        RC_ASSERT(remote < r.value());
        last = r.value();
      } else {
        RC_ASSERT(remote.physical_ms > wall.now_ms() + 100);
        RC_ASSERT(clock.last() == last);
      }
    }
  }
}

}  // namespace
}  // namespace worldline::crdt
