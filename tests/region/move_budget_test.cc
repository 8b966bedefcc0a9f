// The movement budget: exact examples, and its two laws for any sequence of moves.
#include "region/move_budget.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <vector>

namespace worldline::region {
namespace {

TEST(MoveBudget, FourMovesInOneTickTravelOneTicksDistancePlusTheLead) {
  const MovePace pace{10, 20, 0, 100};
  MoveBudget b;
  EXPECT_DOUBLE_EQ(b.spend(5, 10, pace), 10);
  EXPECT_DOUBLE_EQ(b.spend(6, 10, pace), 10);
  // A client sending four moves of one tick's distance each in tick 7: one tick's worth.
  EXPECT_DOUBLE_EQ(b.spend(7, 10, pace), 10);
  EXPECT_DOUBLE_EQ(b.spend(7, 10, pace), 0);
  EXPECT_DOUBLE_EQ(b.spend(7, 10, pace), 0);
  EXPECT_DOUBLE_EQ(b.spend(7, 10, pace), 0);
  // With a lead of two ticks, the same burst runs two ticks ahead, and stays that far ahead: each
  // later tick grants one tick's distance again, never the two it ran ahead a second time.
  const MovePace lead{10, 20, 2, 100};
  MoveBudget c;
  EXPECT_DOUBLE_EQ(c.spend(7, 10, lead), 10);
  EXPECT_DOUBLE_EQ(c.spend(7, 10, lead), 10);
  EXPECT_DOUBLE_EQ(c.spend(7, 10, lead), 10);
  EXPECT_DOUBLE_EQ(c.spend(7, 10, lead), 0);
  EXPECT_DOUBLE_EQ(c.spend(8, 10, lead), 10);
  EXPECT_DOUBLE_EQ(c.spend(8, 10, lead), 0);
  EXPECT_DOUBLE_EQ(c.spend(9, 25, lead), 10);
}

TEST(MoveBudget, AStallIsCaughtUpToTheCapAndNoFurther) {
  const MovePace pace{10, 20, 0, 100};
  MoveBudget b;
  EXPECT_DOUBLE_EQ(b.spend(100, 10, pace), 10);
  // Six ticks of moves held up by a stall arrive together in tick 106: all granted.
  for (int i = 0; i < 6; ++i)
    EXPECT_DOUBLE_EQ(b.spend(106, 10, pace), 10) << i;
  // A three-second stall (60 ticks) at 20 Hz: only the cap, 20 ticks' worth, is caught up.
  double granted = 0;
  for (int i = 0; i < 60; ++i)
    granted += b.spend(166, 10, pace);
  EXPECT_DOUBLE_EQ(granted, 200);
  EXPECT_DOUBLE_EQ(b.available(166, pace), 0);
  EXPECT_DOUBLE_EQ(b.available(167, pace), 10);
}

// However much credit an idle player has, one move goes at most max_step_ticks ticks' worth.
TEST(MoveBudget, OneMoveIsNeverAJump) {
  const MovePace pace{10, 20, 2, 3};
  MoveBudget b;
  EXPECT_DOUBLE_EQ(b.spend(1, 0, pace), 0);
  EXPECT_DOUBLE_EQ(b.spend(40, 220, pace), 30);  // 22 ticks' worth of credit and lead
  EXPECT_DOUBLE_EQ(b.spend(40, 10, pace), 10);   // the catch-up: many short moves
  EXPECT_DOUBLE_EQ(b.spend(40, 10, pace), 10);
}

TEST(MoveBudget, AShortMoveSpendsOnlyWhatItTravels) {
  const MovePace pace{10, 20, 0, 100};
  MoveBudget b;
  EXPECT_DOUBLE_EQ(b.spend(1, 4, pace), 4);
  EXPECT_DOUBLE_EQ(b.spend(1, 10, pace), 6);
  EXPECT_DOUBLE_EQ(b.spend(2, 0, pace), 0);  // no move: nothing spent
  EXPECT_DOUBLE_EQ(b.spend(2, 15, pace), 10);
}

MovePace any_pace() {
  return MovePace{static_cast<double>(*rc::gen::inRange(1, 21)),
                  *rc::gen::inRange<std::uint32_t>(1, 41), *rc::gen::inRange<std::uint32_t>(0, 6),
                  *rc::gen::inRange<std::uint32_t>(1, 6)};
}

// Law 1: whatever a client sends, from its first move at tick t0 the distance granted up to tick
// t is at most speed × (t − t0 + 1 + lead).
RC_GTEST_PROP(MoveBudgetLaws, NothingIsGrantedBeyondElapsedTimePlusTheLead, ()) {
  const MovePace pace = any_pace();
  const auto t0 = *rc::gen::inRange<std::uint64_t>(0, 1000);
  const auto steps = *rc::gen::container<std::vector<std::pair<int, int>>>(
      rc::gen::pair(rc::gen::inRange(0, 4), rc::gen::inRange(0, 1000)));
  MoveBudget b;
  std::uint64_t t = t0;
  double granted = 0;
  for (const auto& [advance, wanted] : steps) {
    t += static_cast<std::uint64_t>(advance);
    granted += b.spend(t, wanted / 10.0, pace);
    const double bound = pace.speed_per_tick * static_cast<double>(t - t0 + 1 + pace.lead_ticks);
    RC_ASSERT(granted <= bound + 1e-6);
  }
}

// Law 2: an honest client — at most one tick's distance per tick of its own, its moves arriving
// late by a delay that varies by at most the lead below its first move's and at most
// catch_up − 1 above it (network jitter, a stall, in order) — is never clamped. (A first move
// later than those after it is not covered: the budget starts with one tick's worth, so a fresh
// session buys no movement.)
RC_GTEST_PROP(MoveBudgetLaws, AnHonestClientLateWithinTheBoundsIsNeverClamped, ()) {
  const MovePace pace = any_pace();
  const int ticks = *rc::gen::inRange(1, 120);
  const int d0 = *rc::gen::inRange(0, 50);
  const int lo = std::max(0, d0 - static_cast<int>(pace.lead_ticks));
  const int hi = d0 + static_cast<int>(pace.catch_up_ticks) - 1;
  std::uint64_t last_arrival = 0;
  MoveBudget b;
  for (int u = 0; u < ticks; ++u) {
    const int delay = u == 0 ? d0 : *rc::gen::inRange(lo, hi + 1);
    const std::uint64_t arrival = std::max(last_arrival, static_cast<std::uint64_t>(u + delay));
    last_arrival = arrival;
    // This tick's distance, in 0–3 moves, each part of at most one tick's worth in total.
    const int moves = *rc::gen::inRange(u == 0 ? 1 : 0, 4);  // the first move starts the budget
    double left = pace.speed_per_tick * *rc::gen::inRange(0, 11) / 10.0;
    for (int m = 0; m < moves; ++m) {
      const double wanted = m + 1 == moves ? left : left * *rc::gen::inRange(0, 11) / 10.0;
      left -= wanted;
      const double granted = b.spend(arrival, wanted, pace);
      RC_ASSERT(std::abs(granted - wanted) < 1e-6);
    }
  }
}

}  // namespace
}  // namespace worldline::region
