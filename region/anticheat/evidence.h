// The streaming statistics the anticheat's checks are built from: plain value types of fixed
// size (a player's whole state is a few hundred bytes, however long it plays), no I/O, no
// clock of their own — each update is given its time.
//
// - Cusum: sequential evidence (Page's one-sided CUSUM). Each observation adds x − k; the sum
//   never goes below zero. An honest stream, whose x averages below the allowance k, keeps
//   falling back to zero; a persistent excess climbs by (mean x − k) per step and crosses any
//   threshold. One odd observation adds at most its own (winsorized) size.
// - DriftLine: an exponentially weighted least-squares line through (t, y) points — the slope of
//   a client's clock against the server's.
// - IntervalShape: the coefficient of variation and the share of repeats of the intervals
//   between a player's discrete actions, exponentially weighted — how regular its timing is.
//   (An entropy of the binned intervals was kept here once; no check read it, and its twelve
//   bins and log2 per action were a third of a player's timing state and time.) A repeat is an
//   interval within a tolerance of the one before: a script that does two things, each on its own
//   fixed period, has a high CV (two rhythms) but repeats nearly every time; a human, even one
//   acting right at a cooldown, rarely repeats to the millisecond.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>

namespace worldline::region::anticheat {

struct Cusum {
  double sum = 0;
  // One observation: sum ← max(0, sum + x − k).
  void add(double x, double k) { sum = std::max(0.0, sum + x - k); }
  // `steps` observations of nothing (x = 0): the sum falls by k each.
  void fall(double steps, double k) { sum = std::max(0.0, sum - steps * k); }
};

class DriftLine {
 public:
  // decay: the weight of every earlier point is multiplied by it when a point is added.
  void add(double t, double y, double decay) {
    if (n_ == 0) t0_ = t;
    const double x = t - t0_;
    w_ = w_ * decay + 1;
    sx_ = sx_ * decay + x;
    sy_ = sy_ * decay + y;
    sxx_ = sxx_ * decay + x * x;
    sxy_ = sxy_ * decay + x * y;
    ++n_;
  }
  // dy/dt of the weighted fit; 0 before two distinct t.
  double slope() const {
    const double var = sxx_ * w_ - sx_ * sx_;
    if (n_ < 2 || var <= 1e-12 * std::max(1.0, sxx_ * w_)) return 0;
    return (sxy_ * w_ - sx_ * sy_) / var;
  }
  std::uint32_t points() const { return n_; }

 private:
  double t0_ = 0, w_ = 0, sx_ = 0, sy_ = 0, sxx_ = 0, sxy_ = 0;
  std::uint32_t n_ = 0;
};

class IntervalShape {
 public:
  // Repeat tolerance: within max(kRepeatMs, kRepeatFraction × interval) of the previous one
  // (client clocks count whole ms: a script's fixed period reads as n or n ± 1).
  static constexpr double kRepeatMs = 1, kRepeatFraction = 0.005;

  void add(double interval_ms, double decay) {
    if (!(interval_ms > 0)) return;
    if (n_) {
      const double tolerance = std::max(kRepeatMs, kRepeatFraction * interval_ms);
      const double repeat = std::abs(interval_ms - last_) <= tolerance ? 1 : 0;
      repeats_ = n_ > 1 ? repeats_ * decay + (1 - decay) * repeat : repeat;
    }
    last_ = interval_ms;
    mean_ = n_ ? mean_ * decay + (1 - decay) * interval_ms : interval_ms;
    const double dev = interval_ms - mean_;
    var_ = n_ ? var_ * decay + (1 - decay) * dev * dev : 0;
    ++n_;
  }
  std::uint32_t count() const { return n_; }
  // The weighted share of intervals that repeat the one before (0 before two intervals).
  double repeats() const { return repeats_; }
  // Standard deviation over mean (0: perfectly regular).
  double cv() const { return mean_ > 0 ? std::sqrt(var_) / mean_ : 0; }

 private:
  double mean_ = 0, var_ = 0, last_ = 0, repeats_ = 0;
  std::uint32_t n_ = 0;
};

}  // namespace worldline::region::anticheat
