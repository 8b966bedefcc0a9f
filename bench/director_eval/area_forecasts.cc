// Per-area Holt forecasts over a fixed grid, the boss's known effect, and windowed scoring.
#include "bench/director_eval/area_forecasts.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace worldline::bench_director {

namespace director = region::director;

double WindowError::p50() const {
  return per_area.empty() ? 0 : per_area[per_area.size() / 2];
}

double WindowError::p95() const {
  if (per_area.empty()) return 0;
  const auto i = static_cast<std::size_t>(std::ceil(0.95 * static_cast<double>(per_area.size())));
  return per_area[std::min(per_area.size() - 1, i == 0 ? 0 : i - 1)];
}

AreaForecasts::AreaForecasts(int grid, const ScenarioOptions& scenario, director::HoltOptions holt)
    : grid_(grid),
      seconds_(static_cast<int>(std::ceil(scenario.day_s)) + 1),
      floor_(holt.mape_floor) {
  const double size = kPlayHalf / grid;
  const auto add = [&](std::string name, director::Area area, bool is_grid) {
    AreaSeries s;
    s.name = std::move(name);
    s.area = area;
    s.grid = is_grid;
    for (int m = 0; m < 2; ++m) {
      s.forecast[m] = director::HoltForecast(holt);
      s.actual[m].assign(static_cast<std::size_t>(seconds_), std::nullopt);
      s.made10[m].assign(static_cast<std::size_t>(seconds_), 0);
      s.made30[m].assign(static_cast<std::size_t>(seconds_), 0);
    }
    series_.push_back(std::move(s));
  };
  for (int z = 0; z < grid; ++z) {
    for (int x = 0; x < grid; ++x) {
      add("grid_" + std::to_string(x) + "_" + std::to_string(z),
          region::Rect{x * size, z * size, (x + 1) * size, (z + 1) * size}, true);
    }
  }
  // The gathering spots' own areas: the square of side kPlayHalf / 8 around each (the spots are
  // centres of that grid's squares, so a square is a union of whole leaves once the tree is
  // that deep there, and its sum is exact; a circle would cut leaves at its edge).
  const double half = kPlayHalf / 16;
  const auto square = [half](const Spot& c) {
    return region::Rect{c.x - half, c.z - half, c.x + half, c.z + half};
  };
  add("boss", square(scenario.boss), false);
  add("crowd", square(scenario.crowd), false);
}

const AreaSeries& AreaForecasts::named(const std::string& name) const {
  for (const AreaSeries& s : series_) {
    if (s.name == name) return s;
  }
  throw std::invalid_argument("no series " + name);
}

void AreaForecasts::observe(const director::DensityMap& map, int s) {
  if (s < 0 || s >= seconds_) return;
  const auto i = static_cast<std::size_t>(s);
  for (AreaSeries& a : series_) {
    const director::DensitySample v = map.area_latest(a.area);
    const double values[2] = {v.players, v.actions_per_s};
    for (int m = 0; m < 2; ++m) {
      a.forecast[m].observe(s, values[m]);
      a.actual[m][i] = values[m];
      a.made10[m][i] = a.forecast[m].forecast(10);
      a.made30[m][i] = a.forecast[m].forecast(30);
    }
  }
}

void AreaForecasts::expect_boss(int now_s, double at_s, double for_s, double draw) {
  if (now_s < 0 || now_s >= seconds_) return;
  const double ahead = at_s - now_s;
  // What the play area will hold at the boss's start, by the grid's own forecasts (the wave
  // moves meanwhile), without effects.
  double total[2] = {0, 0};
  for (const AreaSeries& a : series_) {
    if (!a.grid) continue;
    for (int m = 0; m < 2; ++m)
      total[m] += a.forecast[m].baseline(ahead);
  }
  const region::Rect& spot = std::get<region::Rect>(named("boss").area);
  const double spot_area = (spot.max_x - spot.min_x) * (spot.max_z - spot.min_z);
  const double cell_area = (kPlayHalf / grid_) * (kPlayHalf / grid_);
  for (AreaSeries& a : series_) {
    for (int m = 0; m < 2; ++m) {
      const double own = a.forecast[m].baseline(ahead);
      double effect;
      bool gathering = false;
      if (a.grid) {
        // Its share of the boss's crowd, less the share of its own players who leave for it.
        const double in =
            director::DensityMap::overlap_fraction(std::get<region::Rect>(a.area), spot) *
            cell_area / spot_area;
        effect = draw * total[m] * in - draw * own;
        gathering = in > 0.5;
      } else if (a.name == "boss") {
        effect = draw * total[m];
        gathering = true;
      } else {
        effect = -draw * own;
      }
      // Players set out kGatherLead_s before the start and arrive over that many seconds (a
      // ramp of one step a second); at the end the gathering empties at once, while the areas
      // they return to fill up over as many seconds as they took to come.
      for (int i = 0; i < kGatherLead_s; ++i) {
        const double from = at_s - kGatherLead_s + i + 1;
        const double until = at_s + for_s + (gathering ? 0 : i);
        (void)a.forecast[m].add_expected(from, effect / kGatherLead_s, until - from);
      }
    }
  }
}

WindowError AreaForecasts::error(Metric metric, int horizon_s, int from_s, int to_s, bool grid_only,
                                 const std::string& only, std::uint64_t min_scored,
                                 const std::vector<std::pair<int, int>>& except) const {
  WindowError out;
  const int m = static_cast<int>(metric);
  double pooled_sum = 0, abs_error = 0, actuals = 0;
  for (const AreaSeries& a : series_) {
    if (!only.empty() ? a.name != only : (grid_only && !a.grid)) continue;
    const std::vector<double>& made = horizon_s == 10 ? a.made10[m] : a.made30[m];
    double sum = 0;
    std::uint64_t scored = 0;
    for (int t = std::max(from_s, horizon_s); t < std::min(to_s, seconds_); ++t) {
      if (std::any_of(except.begin(), except.end(),
                      [t](const auto& w) { return t >= w.first && t < w.second; })) {
        continue;
      }
      if (std::any_of(except.begin(), except.end(),
                      [t](const auto& w) { return t >= w.first && t < w.second; })) {
        continue;
      }
      const auto& actual = a.actual[m][static_cast<std::size_t>(t)];
      if (!actual || !a.actual[m][static_cast<std::size_t>(t - horizon_s)]) continue;
      if (std::abs(*actual) < floor_) {
        ++out.skipped;
        continue;
      }
      const double e = std::abs(*actual - made[static_cast<std::size_t>(t - horizon_s)]);
      sum += e / std::abs(*actual);
      abs_error += e;
      actuals += std::abs(*actual);
      ++scored;
    }
    out.scored += scored;
    pooled_sum += sum;
    if (scored >= min_scored) out.per_area.push_back(100 * sum / static_cast<double>(scored));
  }
  std::sort(out.per_area.begin(), out.per_area.end());
  out.pooled = out.scored ? 100 * pooled_sum / static_cast<double>(out.scored) : 0;
  out.wape = actuals > 0 ? 100 * abs_error / actuals : 0;
  return out;
}

std::optional<int> AreaForecasts::catch_up(const std::string& series, Metric metric, int from_s,
                                           double within, int hold) const {
  const AreaSeries& a = named(series);
  const int m = static_cast<int>(metric);
  for (int s = std::max(0, from_s); s + hold - 1 + 10 < seconds_; ++s) {
    bool ok = true;
    for (int k = 0; k < hold && ok; ++k) {
      const auto made_at = static_cast<std::size_t>(s + k);
      const auto& actual = a.actual[m][made_at + 10];
      ok = actual && a.actual[m][made_at] && std::abs(*actual) >= floor_ &&
           std::abs(*actual - a.made10[m][made_at]) <= within * std::abs(*actual);
    }
    if (ok) return s;
  }
  return std::nullopt;
}

}  // namespace worldline::bench_director
