// The director's side of bench/director_eval: Holt forecasts of players and actions/s per area,
// fed once a second from the density map, with what they forecast kept so that their error can
// be scored over any window of the day afterwards.
//
// Series stay stable while the partitioner splits and merges: they are not per leaf (a leaf's id
// and rectangle change with the tree, and DensityMap starts a changed leaf afresh) but per area
// of a fixed grid over the play area (`grid` × `grid` squares, aligned with the quadtree's own
// edges so that a leaf at least as deep as the grid sums exactly), plus the two squares where the
// boss and the crowd gather. Each area's value is DensityMap::area_latest(): the leaves'
// samples weighted by overlap, i.e. a leaf larger than the area is taken as evenly filled — the
// director's resolution, not the truth (the bench measures that gap separately).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bench/director_eval/scenario.h"
#include "region/director/density_map.h"
#include "region/director/forecast.h"

namespace worldline::bench_director {

enum class Metric : int { kPlayers = 0, kActions = 1 };
inline const char* to_string(Metric m) {
  return m == Metric::kPlayers ? "players" : "actions/s";
}

struct AreaSeries {
  std::string name;  // "grid_x_z", "boss", "crowd"
  region::director::Area area;
  bool grid = false;
  region::director::HoltForecast forecast[2];  // by Metric
  // By second of the day: the actual, and the forecasts made then for 10 and 30 s later.
  std::vector<std::optional<double>> actual[2];
  std::vector<double> made10[2], made30[2];
};

// One window's error at one horizon: per-area MAPEs (areas with at least `min_scored` scores),
// all scores pooled, and the weighted error over the same scores (WAPE: Σ|error| / Σ actual),
// which a few near-empty actuals cannot blow up the way they do a mean of percentages.
struct WindowError {
  std::vector<double> per_area;  // percent, sorted
  std::uint64_t scored = 0, skipped = 0;
  double pooled = 0;  // percent
  double wape = 0;    // percent
  double p50() const;
  double p95() const;
};

// Seconds before a scheduled gathering's start that its players set out (the scenario's boss
// players leave 3 s before it, and the furthest need about as long again to arrive).
inline constexpr int kGatherLead_s = 4;

class AreaForecasts {
 public:
  AreaForecasts(int grid, const ScenarioOptions& scenario, region::director::HoltOptions holt);

  // The density map closed the period of second `s` of the day: every series observes it.
  void observe(const region::director::DensityMap& map, int s);
  // The scheduled boss as a known effect, registered at second `now_s` from the forecasts then:
  // `draw` of the play area's players (and their actions/s) leave every area for the boss's square
  // during [at_s, at_s + for_s), arriving over the kGatherLead_s before at_s; each grid area's
  // share of the gathering is by its overlap with the boss's square.
  void expect_boss(int now_s, double at_s, double for_s, double draw);

  // The error of the forecasts made `horizon_s` before each actual whose second is in
  // [from_s, to_s) and in none of the `except` windows, over the grid areas (grid_only) or one
  // named series.
  WindowError error(Metric m, int horizon_s, int from_s, int to_s, bool grid_only,
                    const std::string& only = {}, std::uint64_t min_scored = 10,
                    const std::vector<std::pair<int, int>>& except = {}) const;
  // The first second s ≥ from_s from which `hold` forecasts in a row, made at s, s + 1, …, 10 s
  // ahead, are each within `within` (a fraction) of their actual; nullopt if never.
  std::optional<int> catch_up(const std::string& series, Metric m, int from_s, double within,
                              int hold) const;

  const std::vector<AreaSeries>& series() const { return series_; }
  const AreaSeries& named(const std::string& name) const;
  int grid() const { return grid_; }
  double mape_floor() const { return floor_; }

 private:
  int grid_;
  int seconds_;
  double floor_;
  std::vector<AreaSeries> series_;
};

}  // namespace worldline::bench_director
