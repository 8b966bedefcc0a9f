// The anticheat's aim checks (docs/anticheat.md): a small per-player value type, AimTrack, fed
// by the Detector with every action that carries an aim (protocol `args.aim` on moves and
// attacks) and the outcome of its actor's half. No I/O, no clock of its own (the client's clock
// of each action), fixed size whatever the player does.
//
//   snap      at a hit that ends a turn of at least snap_min_turn_deg (an acquisition, not a
//             tracking shot): the angular speed of the last step, from the previous aim sample
//             to the hit's aim, over the client-clock time between them. A human's flick
//             decelerates and settles before the shot; an aimbot turns onto the target between
//             two samples and fires. x = 1 when the speed is over snap_deg_per_s (CUSUM).
//   reaction  at the first hit on a target (none on it for encounter_gap_ms): the time since
//             the target came into view — the oldest aim sample of the unbroken run, ending at
//             the hit, within view_deg of the hit's aim (the hit's aim stands for the direction
//             to the target: it is within aim_tolerance_deg of it). Measured only when the
//             player's recent samples show the aim outside view_deg before that run (the
//             target entered the view in the window the track keeps). x = 1 below
//             reaction_min_ms (CUSUM): no human sees, turns and fires that fast.
//   hit_ratio hits over attempts (attacks with aim that reached the aim test), exponentially
//             forgotten (hit_decay per attempt, so at most 1 / (1 − hit_decay) attempts count),
//             against the population's prior Beta(α, β): the posterior probability q that the
//             player's true hit rate exceeds hit_rate_threshold; feature logit(q) /
//             logit(hit_confidence), 0 below q = ½. Ten lucky shots in a row leave q far
//             below ½; a hundred and fifty do not.
// Thread safety: none; the detector keeps one per player under its shard's lock.
#pragma once

#include <array>
#include <cstdint>

#include "region/action.h"
#include "region/anticheat/evidence.h"
#include "region/game_rules.h"

namespace worldline::region::anticheat {

struct AimConfig {
  // snap
  double snap_deg_per_s = 500;    // the last step's angular speed that counts as a snap
  double snap_min_turn_deg = 20;  // the turn (decayed sum of steps) that makes a hit an acquisition
  double turn_window_ms = 300;    // the decay time of that sum
  double snap_min_dt_ms = 5;      // a step's time is at least this (clients stamp whole ms)
  // A step measures a snap only when its two samples are this close: a client that sends aim
  // only now and then (on its attacks, say) turns between them unseen, and two far-apart aims
  // a few hundred ms apart are no evidence of how fast it turned (review of 2026-12-07).
  double snap_max_dt_ms = 100;
  double snap_allowance = 0.15, snap_threshold = 1.5, snap_weight = 8.5;
  // reaction
  double view_deg = 45;          // in view: within this of the hit's aim
  double reaction_min_ms = 150;  // faster than this from coming into view to the hit is inhuman
  double encounter_gap_ms = 2000;
  // A reaction is measured only when the last sample out of view is at most this long before
  // the first in view: with sparser samples, when the target came into view is unknown (a
  // client aiming only on its attacks would otherwise react in 0 ms to every new target).
  double reaction_max_gap_ms = 150;
  double reaction_allowance = 0.25, reaction_threshold = 2, reaction_weight = 8.5;
  // hit ratio
  // The population's hit rate, Beta(α, β): mean 2/3 (bench/anticheat_eval's honest players hit
  // 0.6–0.7 of their aimed shots), weak (α + β = 6) so that a long run of evidence decides.
  double hit_prior_alpha = 4, hit_prior_beta = 2;
  // Feature 1 where the posterior gives 0.9 that the true rate is over 0.97 (the best honest
  // players of the evaluation hit up to 0.96 over their last 200): a perfect record of 150.
  double hit_rate_threshold = 0.97, hit_confidence = 0.9;
  double hit_decay = 0.995;  // per attempt: at most 200 attempts count
  double hit_weight = 8.5;
  // snap and reaction forget this much evidence per tick (0.01 a second at 20 Hz): a fight is
  // every few seconds at best, so they forget slower than the per-action checks.
  double forget_per_tick = 0.0005;
};

// A hit ratio's posterior against the population (pure functions, for the property tests).
// The probability that the true rate exceeds `threshold` under Beta(α + hits, β + misses), and
// its logit (finite: ±40 at the ends).
double hit_rate_above_logit(double hits, double attempts, const AimConfig& c);
// The hit-ratio feature: max(0, logit(q) / logit(hit_confidence)). The incomplete beta
// function is costly (microseconds): it is computed only when the posterior mean plus one
// standard deviation reaches the threshold — below, the median is below it (|mean − median| ≤
// σ for any distribution), so q ≤ ½ and the feature is exactly 0.
double hit_ratio_feature(double hits, double attempts, const AimConfig& c);

class AimTrack {
 public:
  // REQUIRES: a.aim is set and of length 1 (the parsers and ingress see to it).
  void observe(const Action& a, const Outcome& actor_half, const AimConfig& c);
  // Time passing: `steps` ticks of nothing for snap and reaction (per_tick: forget_per_tick).
  void fall(double steps, double per_tick) {
    snap_.fall(steps, per_tick);
    reaction_.fall(steps, per_tick);
  }

  double snap_feature(const AimConfig& c) const { return snap_.sum / pos(c.snap_threshold); }
  double reaction_feature(const AimConfig& c) const {
    return reaction_.sum / pos(c.reaction_threshold);
  }
  double hit_feature() const { return hit_feature_; }
  // The posterior mean hit rate, (α + hits) / (α + β + attempts): what a reviewer reads.
  double hit_rate(const AimConfig& c) const;
  // What a reviewer reads (the statistics behind the features).
  double snap_sum() const { return snap_.sum; }
  double reaction_sum() const { return reaction_.sum; }
  double last_snap_deg_per_s() const { return last_snap_; }
  double last_reaction_ms() const { return last_reaction_; }
  double hits() const { return hits_; }
  double attempts() const { return attempts_; }

  static constexpr std::size_t kSamples = 16;  // aim change points kept (≥ 0.8 s at 20 Hz)

 private:
  static double pos(double v) { return v > 1e-9 ? v : 1e-9; }
  // An aim sample: the low 32 bits of the client's ms (differences wrap correctly) and the
  // direction as yaw (atan2(z, x)) and pitch (asin(y)) in steps of 1/32767 of their range
  // (~0.005°; angles between samples from atan2(|a × b|, a · b)).
  struct Sample {
    std::uint32_t ms = 0;
    std::int16_t yaw = 0, pitch = 0;
  };
  static Sample sample(std::uint32_t ms, const crdt::Vec3& aim);
  static double angle_deg(const Sample& a, const Sample& b);
  const Sample& newest() const { return ring_[(next_ + kSamples - 1) % kSamples]; }

  std::array<Sample, kSamples> ring_{};  // change points: a sample ≥ 0.5° from the one before
  std::array<float, 3> last_aim_{};      // the previous sample's aim (steps need no trig)
  std::array<float, 3> newest_aim_{};    // the newest change point's (nor does the 0.5° test)
  std::uint8_t next_ = 0, size_ = 0;
  bool has_last_ = false;
  std::uint32_t last_ms_ = 0;  // the previous sample's time (kept even when not a change point)
  float turn_ = 0;             // degrees turned lately (decayed by turn_window_ms)
  Cusum snap_, reaction_;
  float last_snap_ = 0, last_reaction_ = -1;
  float hits_ = 0, attempts_ = 0, hit_feature_ = 0;
  crdt::EntityId last_target_ = 0;
  std::uint32_t last_target_ms_ = 0;
};

}  // namespace worldline::region::anticheat
