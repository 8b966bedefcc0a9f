// What the detector costs a region's tick: the same pipeline and load ticked with the observer
// set and not, interleaved (each pair in a random order), 10 000 players and 5 000 actions a
// tick, as in region_bench's BM_Tick_10kPlayers_5kActions but with clients that walk (moves a
// step from where they stand, attacks on a neighbour, emotes), so the detector sees play.
#pragma once

#include <cstdint>

namespace worldline::bench_ac {

struct TickCost {
  int workers = 0;
  std::uint64_t pairs = 0;
  double without_p50_us = 0, with_p50_us = 0;  // tick durations
  double diff_p50_us = 0;    // the median of the pairs' differences (with − without)
  double diff_mean_us = 0;   // their trimmed mean (the middle 80 %)
  double inside_us = 0;      // time inside observe(), summed over workers, per tick (timed)
  double pct_of_tick = 0;    // diff_p50 / without_p50
  double pct_of_period = 0;  // diff_p50 / 50 ms
  // Through the DetectorTap with its own thread (the node's default): the tick's own cost (the
  // copy and the hand-over; the tap drained outside the timed tick, so its thread never runs
  // beside another mode's tick), and the detector thread's time per tick beside it.
  double tap_p50_us = 0, tap_diff_p50_us = 0, tap_pct_of_tick = 0, tap_thread_us = 0;
  // Steady runs of 40 consecutive ticks each, alternated: no observer, and the tap with its
  // thread working beside the next tick (what a node sees, contention for the cores included).
  double run_without_p50_us = 0, run_tap_p50_us = 0, run_pct_of_tick = 0;
  double run_inline_p50_us = 0;  // the same runs with the detector inline, for comparison
  std::uint64_t tap_waits = 0;   // end_tick()s that waited for the detector thread in those runs
  // Paced runs, as a node ticks: 40 ticks each at one per 50 ms period, alternated — no
  // observer; the tap's thread at the loop's priority; the tap's thread at nice 19 (it works in
  // the period's idle time); the detector inline. Tick durations, p50 and p99.
  double paced_p50_us[4] = {0, 0, 0, 0}, paced_p99_us[4] = {0, 0, 0, 0};
  std::uint64_t paced_waits[4] = {0, 0, 0, 0};  // end_tick()s that waited, per mode
  static constexpr const char* kPacedModes[4] = {"none", "tap nice 0", "tap nice 19", "inline"};
};

TickCost measure_tick_cost(int workers, std::uint64_t pairs, std::uint64_t seed);

// observe() alone, on one thread: the same load's actions and outcomes recorded from the
// pipeline for `ticks` ticks, then replayed `rounds` times (shifted in time) into a detector that
// has seen every player; ns per action, the loop's own cost (filling the action) subtracted:
// the median round's and the fastest's.
struct ObserveCost {
  std::uint64_t actions = 0;
  double ns_per_action = 0, min_ns_per_action = 0, loop_ns_per_action = 0;
};
ObserveCost measure_observe_cost(std::uint64_t ticks, int rounds, std::uint64_t seed);

}  // namespace worldline::bench_ac
