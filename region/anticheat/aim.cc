#include "region/anticheat/aim.h"

#include <algorithm>
#include <cmath>

#include <boost/math/special_functions/beta.hpp>

namespace worldline::region::anticheat {
namespace {

constexpr double kLogitCap = 40;  // e^−40: beyond what a double's ibeta resolves anyway

// Client clocks count whole ms; two samples further apart than this are unrelated (a pause).
constexpr std::uint32_t kMaxStepMs = 1000;

// Degrees between a kept aim and a unit vector: atan2(|a × b|, a · b), accurate at small angles.
double between(const std::array<float, 3>& a, const crdt::Vec3& v) {
  const double px = a[0], py = a[1], pz = a[2];
  const double cx = py * v.z - pz * v.y, cy = pz * v.x - px * v.z, cz = px * v.y - py * v.x;
  return std::atan2(std::sqrt(cx * cx + cy * cy + cz * cz), px * v.x + py * v.y + pz * v.z) * 180 /
         M_PI;
}

double logit_of(double q, double not_q) {
  if (!(q > 0)) return -kLogitCap;
  if (!(not_q > 0)) return kLogitCap;
  return std::clamp(std::log(q) - std::log(not_q), -kLogitCap, kLogitCap);
}

}  // namespace

double hit_rate_above_logit(double hits, double attempts, const AimConfig& c) {
  hits = std::clamp(hits, 0.0, std::max(0.0, attempts));
  const double a = std::max(1e-6, c.hit_prior_alpha) + hits;
  const double b = std::max(1e-6, c.hit_prior_beta) + std::max(0.0, attempts - hits);
  const double t = std::clamp(c.hit_rate_threshold, 1e-9, 1 - 1e-9);
  // q = P(p > t) = 1 − I_t(a, b); both tails computed directly (no 1 − q cancellation).
  return logit_of(boost::math::ibetac(a, b, t), boost::math::ibeta(a, b, t));
}

double hit_ratio_feature(double hits, double attempts, const AimConfig& c) {
  hits = std::clamp(hits, 0.0, std::max(0.0, attempts));
  const double a = std::max(1e-6, c.hit_prior_alpha) + hits;
  const double b = std::max(1e-6, c.hit_prior_beta) + std::max(0.0, attempts - hits);
  const double mean = a / (a + b), sd = std::sqrt(a * b / ((a + b) * (a + b) * (a + b + 1)));
  if (mean + sd < c.hit_rate_threshold) return 0;
  const double conf = std::clamp(c.hit_confidence, 0.5 + 1e-9, 1 - 1e-12);
  return std::max(0.0, hit_rate_above_logit(hits, attempts, c) / std::log(conf / (1 - conf)));
}

double AimTrack::hit_rate(const AimConfig& c) const {
  const double a = std::max(1e-6, c.hit_prior_alpha), b = std::max(1e-6, c.hit_prior_beta);
  return (a + hits_) / (a + b + attempts_);
}

AimTrack::Sample AimTrack::sample(std::uint32_t ms, const crdt::Vec3& aim) {
  const auto q = [](double v, double range) {
    return static_cast<std::int16_t>(std::lround(std::clamp(v / range, -1.0, 1.0) * 32767));
  };
  return Sample{ms, q(std::atan2(aim.z, aim.x), M_PI),
                q(std::asin(std::clamp(aim.y, -1.0, 1.0)), M_PI / 2)};
}

double AimTrack::angle_deg(const Sample& a, const Sample& b) {
  const auto unit = [](const Sample& s, double& x, double& y, double& z) {
    const double yaw = s.yaw * (M_PI / 32767), pitch = s.pitch * (M_PI / 2 / 32767);
    x = std::cos(yaw) * std::cos(pitch);
    y = std::sin(pitch);
    z = std::sin(yaw) * std::cos(pitch);
  };
  double ax, ay, az, bx, by, bz;
  unit(a, ax, ay, az);
  unit(b, bx, by, bz);
  const double cx = ay * bz - az * by, cy = az * bx - ax * bz, cz = ax * by - ay * bx;
  return std::atan2(std::sqrt(cx * cx + cy * cy + cz * cz), ax * bx + ay * by + az * bz) * 180 /
         M_PI;
}

void AimTrack::observe(const Action& a, const Outcome& o, const AimConfig& c) {
  if (!a.aim) return;
  const bool attack = a.kind == ActionKind::kAttack;
  // Hit ratio: every attack that reached the aim test, whatever the client's clock says.
  bool hit = false;
  if (attack && o.aim_error_deg >= 0) {
    hit = o.limit != Limit::kMissed && o.ok;
    const double d = std::clamp(c.hit_decay, 0.0, 1.0);
    attempts_ = static_cast<float>(attempts_ * d + 1);
    hits_ = static_cast<float>(hits_ * d + (hit ? 1 : 0));
    hit_feature_ = static_cast<float>(hit_ratio_feature(hits_, attempts_, c));
  }
  // The timing checks need the client's clock.
  if (!a.client_time_ms) return;
  const auto ms = static_cast<std::uint32_t>(a.client_time_ms);
  const crdt::Vec3& v = *a.aim;
  double step = 0, dt = -1;
  if (has_last_) {
    // The step from the previous sample, from the kept floats: one atan2, no other trig.
    step = between(last_aim_, v);
    const std::uint32_t since = ms - last_ms_;  // wraps: a clock that went back is huge
    if (since <= kMaxStepMs) {
      dt = since;
      turn_ = static_cast<float>(turn_ * std::exp(-dt / pos(c.turn_window_ms)) + step);
    } else {
      turn_ = 0;
    }
  }
  last_aim_ = {static_cast<float>(v.x), static_cast<float>(v.y), static_cast<float>(v.z)};
  // A change point joins the ring (a player looking the same way for a while takes one slot).
  if (!size_ || between(newest_aim_, v) >= 0.5) {
    newest_aim_ = last_aim_;
    ring_[next_] = sample(ms, v);
    next_ = static_cast<std::uint8_t>((next_ + 1) % kSamples);
    size_ = static_cast<std::uint8_t>(std::min<std::size_t>(size_ + 1u, kSamples));
  }
  has_last_ = true;
  last_ms_ = ms;
  if (!hit) return;

  // snap: only hits that end a turn (tracking shots are no evidence either way).
  if (dt >= 0 && dt <= c.snap_max_dt_ms && turn_ >= c.snap_min_turn_deg) {
    last_snap_ = static_cast<float>(step / std::max(dt, c.snap_min_dt_ms) * 1000);
    snap_.add(last_snap_ >= c.snap_deg_per_s ? 1 : 0, c.snap_allowance);
  }
  // reaction: the first hit on this target in an encounter.
  const bool first = a.target != last_target_ || ms - last_target_ms_ > c.encounter_gap_ms;
  last_target_ = a.target;
  last_target_ms_ = ms;
  if (!first) return;
  // Back from the newest sample (the hit's, or one within 0.5° of it) while in view; the oldest
  // in view is when the target came into view — if an older sample shows it out of view.
  const Sample now = newest();
  const Sample* entry = nullptr;
  for (std::size_t i = 0; i < size_; ++i) {
    const Sample& s = ring_[(next_ + kSamples - 1 - i) % kSamples];
    if (ms - s.ms > 10 * kMaxStepMs) break;  // stale: a different life
    if (angle_deg(s, now) > c.view_deg) {
      if (entry && entry->ms - s.ms <= c.reaction_max_gap_ms) {
        last_reaction_ = static_cast<float>(ms - entry->ms);
        reaction_.add(last_reaction_ < c.reaction_min_ms ? 1 : 0, c.reaction_allowance);
      }
      return;
    }
    entry = &s;
  }
}

}  // namespace worldline::region::anticheat
