// MoveBudget: how far one player may move, enforced by elapsed time rather than per move action.
// Every tick adds max_speed_per_tick of credit, up to catch_up ticks' worth; a move spends credit,
// and may run ahead of it by lead ticks' worth; no single move goes further than max_step_ticks
// ticks' worth. So a client that sends four moves in one tick
// travels one tick's distance (not four), while an honest client whose moves were held up by a
// stall of up to catch_up ticks catches up what the stall owed it, and one whose moves arrive
// with up to lead ticks of jitter loses nothing — the same balance as a server-side timer budget.
// The GameRules move handler keeps one per player; what it clamps is evidence for the anticheat.
//
// Laws (tests/region/move_budget_test.cc checks them with rapidcheck): from the first move at
// tick t0, the distance granted up to tick t is at most speed × (t − t0 + 1 + lead); a player
// that never asks for more than that with its moves late by at most catch_up ticks is never
// clamped.
#pragma once

#include <algorithm>
#include <cstdint>

namespace worldline::region {

struct MovePace {
  double speed_per_tick = 10;         // world units accrued per tick
  std::uint32_t catch_up_ticks = 20;  // credit is capped at this many ticks' worth
  std::uint32_t lead_ticks = 3;       // a move may spend this many ticks' worth ahead
  // One move goes at most this many ticks' worth, whatever the credit: clients send a move per
  // frame, so a long one is a jump, never the catch-up of a stall (that is many short moves).
  std::uint32_t max_step_ticks = 3;
};

class MoveBudget {
 public:
  // The distance granted to a move asking for `wanted` world units in `tick` (ticks never go
  // backwards for one player); the rest of `wanted` is clamped.
  double spend(std::uint64_t tick, double wanted, const MovePace& pace) {
    if (!started_) {
      started_ = true;
      credit_ = pace.speed_per_tick;  // the first tick's accrual
    } else if (tick > last_tick_) {
      const double accrued = static_cast<double>(tick - last_tick_) * pace.speed_per_tick;
      credit_ = std::min(credit_ + accrued, pace.catch_up_ticks * pace.speed_per_tick);
    }
    if (tick > last_tick_) last_tick_ = tick;
    const double floor = -static_cast<double>(pace.lead_ticks) * pace.speed_per_tick;
    const double step =
        static_cast<double>(std::max<std::uint32_t>(1, pace.max_step_ticks)) * pace.speed_per_tick;
    const double granted = std::clamp(wanted, 0.0, std::min(step, std::max(0.0, credit_ - floor)));
    credit_ -= granted;
    return granted;
  }

  // World units the next move in `tick` could take without a clamp (credit plus the lead).
  double available(std::uint64_t tick, const MovePace& pace) const {
    MoveBudget copy = *this;
    return copy.spend(tick, 1e300, pace);
  }

 private:
  bool started_ = false;
  std::uint64_t last_tick_ = 0;
  double credit_ = 0;  // may be negative down to −lead ticks' worth
};

}  // namespace worldline::region
