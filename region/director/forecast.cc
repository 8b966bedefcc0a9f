// HoltForecast: Holt's linear smoothing on the baseline, known effects added back, and the
// online MAPE of the forecasts it made.
#include "region/director/forecast.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace worldline::region::director {

std::optional<double> HorizonError::mape_percent() const {
  if (scored == 0) return std::nullopt;
  return 100.0 * sum_ape / static_cast<double>(scored);
}

HoltForecast::HoltForecast(HoltOptions options) : options_(std::move(options)) {
  // Options out of range fall back to their defaults' meaning (NaN passes std::clamp as is).
  options_.alpha = std::isfinite(options_.alpha) ? std::clamp(options_.alpha, 1e-6, 1.0) : 0.5;
  options_.beta = std::isfinite(options_.beta) ? std::clamp(options_.beta, 0.0, 1.0) : 0.2;
  if (!(options_.step_s > 0) || !std::isfinite(options_.step_s)) options_.step_s = 1.0;
  if (!(options_.mape_floor > 0) || !std::isfinite(options_.mape_floor)) options_.mape_floor = 1.0;
  for (double h : options_.error_horizons_s) {
    // A horizon that is not a finite, non-negative number of seconds would never be scored, and
    // its queue of forecasts would grow for ever: not tracked.
    if (std::isfinite(h) && h >= 0) errors_.push_back(HorizonError{h, 0, 0, 0});
  }
  pending_.resize(errors_.size());
}

void HoltForecast::observe(double t_s, double actual) {
  if (!std::isfinite(t_s) || !std::isfinite(actual)) return;  // a broken sample teaches nothing
  // 1. Score the forecasts that were made for now. Each horizon's queue is in target order;
  //    targets more than half a step in the past were missed (a gap in the observations).
  const double half = options_.step_s / 2;
  for (std::size_t i = 0; i < errors_.size(); ++i) {
    std::deque<Pending>& q = pending_[i];
    while (!q.empty() && q.front().target_s < t_s - half)
      q.pop_front();
    while (!q.empty() && q.front().target_s <= t_s + half) {
      const double forecast = q.front().value;
      q.pop_front();
      if (std::abs(actual) < options_.mape_floor) {
        ++errors_[i].skipped;
      } else {
        ++errors_[i].scored;
        errors_[i].sum_ape += std::abs(actual - forecast) / std::abs(actual);
      }
    }
  }

  // 2. Smooth the baseline. The first observation sets the level; the second sets level and
  //    trend exactly (so a straight line is followed exactly from then on); later ones are
  //    Holt's recurrences.
  const double y = actual - effect_at(t_s);
  if (observations_ == 0) {
    level_ = y;
    trend_ = 0;
    first_ = y;
  } else if (observations_ == 1) {
    level_ = y;
    trend_ = y - first_;
  } else {
    // Error-correction form of l' = αy + (1−α)(l + b), b' = β(l' − l) + (1−β)b: the same
    // recurrences, but a series the model already fits (a constant, a line) leaves level and
    // trend bit-exact instead of drifting by rounding.
    const double predicted = level_ + trend_;
    const double previous = level_;
    level_ = predicted + options_.alpha * (y - predicted);
    trend_ = trend_ + options_.beta * ((level_ - previous) - trend_);
  }
  ++observations_;
  last_t_ = t_s;

  // 3. Forget effects that have ended, then remember this step's forecasts for scoring.
  std::erase_if(effects_, [&](const Effect& e) { return e.at_s + e.duration_s <= t_s; });
  for (std::size_t i = 0; i < errors_.size(); ++i) {
    const double h = errors_[i].horizon_s;
    pending_[i].push_back(Pending{t_s + h, forecast(h)});
  }
}

double HoltForecast::baseline(double h_s) const {
  if (observations_ == 0) return 0;
  const double b = level_ + trend_ * (h_s / options_.step_s);
  return options_.clamp_nonnegative ? std::max(0.0, b) : b;
}

double HoltForecast::forecast(double h_s) const {
  const double f = baseline(h_s) + effect_at(last_t_ + h_s);
  return options_.clamp_nonnegative ? std::max(0.0, f) : f;
}

bool HoltForecast::add_expected(double at_s, double players, double duration_s) {
  if (!std::isfinite(at_s) || !std::isfinite(players) || !std::isfinite(duration_s) ||
      !(duration_s > 0) || effects_.size() >= options_.max_effects) {
    return false;
  }
  effects_.push_back(Effect{at_s, players, duration_s});
  return true;
}

double HoltForecast::effect_at(double t_s) const {
  double sum = 0;
  for (const Effect& e : effects_) {
    if (t_s >= e.at_s && t_s < e.at_s + e.duration_s) sum += e.players;
  }
  return sum;
}

std::optional<double> HoltForecast::mape_percent(double horizon_s) const {
  for (const HorizonError& e : errors_) {
    if (e.horizon_s == horizon_s) return e.mape_percent();
  }
  return std::nullopt;
}

}  // namespace worldline::region::director
