// HoltForecast: one series' load forecast (players or actions/s of a cell or an area) by Holt's
// linear smoothing plus the known effect of scheduled and escalating events, and its own error,
// measured online as MAPE at fixed horizons. The director keeps one per series it watches.
//
// Model: the smoother sees the baseline y(t) − effect(t); a forecast is
//   baseline: level + trend · (h / step_s), clamped at 0 when clamp_nonnegative
//   + effect(t_last + h): the sum of the known effects whose window [at_s, at_s + duration_s)
//     holds that time (the sum clamped at 0 again when clamp_nonnegative),
// so an expected crowd is neither chased by the smoother while it lasts nor left in the trend
// after it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

namespace worldline::region::director {

struct HoltOptions {
  // Level smoothing, (0, 1]: at one sample a second, 0.5 follows a change of level within a few
  // seconds while halving single-sample noise.
  double alpha = 0.5;
  // Trend smoothing, (0, 1]: 0.2 averages the slope over about five samples, long enough to
  // ignore one noisy sample, short enough to see a crowd building over 10–60 s.
  double beta = 0.2;
  double step_s = 1.0;  // seconds between observations (the density map's sample period)
  // Horizons (seconds ahead) whose error is tracked.
  std::vector<double> error_horizons_s = {10, 30};
  // Actuals below this are not scored: a percentage of (nearly) nothing is undefined or huge,
  // and an empty cell says nothing about the forecast's quality. Counted as skipped instead.
  double mape_floor = 1.0;
  bool clamp_nonnegative = true;  // players and rates are never negative
  std::size_t max_effects = 64;   // known effects held at once (bounded memory)
};

// The online error at one horizon: each forecast made h seconds before an actual arrived,
// scored as |actual − forecast| / |actual|.
struct HorizonError {
  double horizon_s = 0;
  std::uint64_t scored = 0;   // actuals compared with the forecast made h seconds before
  std::uint64_t skipped = 0;  // actuals below mape_floor
  double sum_ape = 0;         // sum of the scored absolute percentage errors, as fractions
  // Mean absolute percentage error in percent (15.0 = 15 %); nullopt before the first score.
  std::optional<double> mape_percent() const;
};

class HoltForecast {
 public:
  explicit HoltForecast(HoltOptions options = {});

  // The actual value at t_s (seconds on the caller's clock). Scores the forecasts made for t_s
  // (within half a step), updates the smoother with the baseline, then records this step's
  // forecasts at the tracked horizons. A non-finite t_s or actual is ignored.
  // REQUIRES: t_s increases by about step_s per call.
  void observe(double t_s, double actual);

  // The forecast h_s seconds after the last observation (0 before the first one, plus effects).
  double forecast(double h_s) const;
  // The smoother's part alone, without known effects.
  double baseline(double h_s) const;

  // A known effect: `players` more (or fewer, if negative) during [at_s, at_s + duration_s).
  // Returns false, adding nothing, when the values are not finite, duration_s <= 0, or
  // max_effects are already held. Effects are dropped once their window has ended.
  [[nodiscard]] bool add_expected(double at_s, double players, double duration_s);
  // The sum of the known effects at t_s.
  double effect_at(double t_s) const;

  const std::vector<HorizonError>& errors() const { return errors_; }
  // MAPE in percent at a tracked horizon; nullopt if untracked or nothing scored yet.
  std::optional<double> mape_percent(double horizon_s) const;

  std::uint64_t observations() const { return observations_; }
  double level() const { return level_; }
  double trend() const { return trend_; }  // per step
  const HoltOptions& options() const { return options_; }

 private:
  struct Effect {
    double at_s, players, duration_s;
  };
  struct Pending {
    double target_s;  // when the actual it forecasts is due
    double value;
  };

  HoltOptions options_;
  double level_ = 0;
  double trend_ = 0;
  double first_ = 0;  // the first baseline, for the trend's start
  double last_t_ = 0;
  std::uint64_t observations_ = 0;
  std::vector<Effect> effects_;
  std::vector<HorizonError> errors_;
  // Per tracked horizon, by target time: about horizon_s / step_s + 1 entries each.
  std::vector<std::deque<Pending>> pending_;
};

}  // namespace worldline::region::director
