// Director: one region's world-event director as its loop runs it. After every tick it takes the
// tick's cells (players and actions per leaf of the partition) into the density map; when a
// sample period closes, a Holt forecast per area of a fixed grid observes it (leaves come and go
// as the tree splits and merges; the grid's squares do not), and the event registry advances
// with the players counted inside each event's area. Plain code on the node's loop thread
// (RegionApp): no I/O, no threads, no clock of its own.
//
// Invariants:
//  1. the registry advances once per closed sample period, never twice for one period, with
//     times that do not decrease (the density map's period starts);
//  2. catalog() is what the registry deploys for new instances: deploy() replaces both at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "region/director/density_map.h"
#include "region/director/event_definition.h"
#include "region/director/event_lifecycle.h"
#include "region/director/experience.h"
#include "region/director/forecast.h"
#include "region/partitioner.h"

namespace worldline::region::director {

struct DirectorOptions {
  Rect world;             // the region's play area, which the forecast grid covers
  int forecast_grid = 4;  // forecast areas: grid × grid squares over `world`, 1..16
  DensityOptions density;
  HoltOptions holt;  // its step_s is taken from density.sample_period_ms
  RegistryOptions registry;
  ExperienceOptions experience;
};

// One square of the forecast grid, with its forecasts. "players" is what the cells' CellCount
// carries: the node feeds each leaf's entities (players, offline ones included, and items — the
// partitioner's load), so on a node it forecasts entities.
struct ForecastArea {
  Rect area;
  int gx = 0, gz = 0;  // grid column (x) and row (z)
  HoltForecast players, actions;
  double last_players = 0, last_actions_per_s = 0;  // the newest sample
};

// Load prediction used ahead of the load (issue #17): which squares of the forecast grid are
// about to fill. A square is expected to carry its forecast when the forecast `horizon_s` ahead
// exceeds the newest sample by more than max(margin_entities, margin_share × newest), once its
// forecast has seen min_observations samples. The caller hands each to the partitioner
// (RegionPipeline::expect_load), which splits the square and spreads it over the workers before
// the crowd arrives (docs/world-events.md, "Load forecast").
struct ProactiveOptions {
  double horizon_s = 10;
  double margin_entities = 5, margin_share = 0.2;
  std::uint64_t min_observations = 10;
};

struct ExpectedLoad {
  Rect area;
  // Entities + actions per tick, the partitioner's unit: the forecast entities plus the forecast
  // actions/s × the tick period.
  std::uint32_t load = 0;
  double entities_now = 0, entities_coming = 0;  // the newest sample, and the forecast
};

struct DirectorStats {
  std::uint64_t samples = 0;  // sample periods closed (registry steps)
  std::uint64_t started = 0, completed = 0, failed = 0, rescaled = 0;
  std::uint64_t deploys = 0;  // deploy() calls after the first catalog
};

class Director {
 public:
  // REQUIRES: options.forecast_grid in 1..16, options.world non-empty,
  // options.density.sample_period_ms > 0; `catalog` as for EventRegistry.
  Director(DirectorOptions options, EventCatalog catalog);

  // The players standing within a circle (the caller counts them exactly; the density map only
  // knows cells).
  using PlayersWithin = std::function<double(const Circle&)>;
  // A running instance's NPCs as the caller sees them (npcs_alive, objective_progress: NPCs
  // defeated); its participants are counted by PlayersWithin.
  using ReadInstance = std::function<InstanceReading(InstanceId)>;

  // After a tick at now_ms: its cells. When this tick closes a sample period, the forecasts
  // observe that period and the registry advances to the period's end; returns what the registry
  // did then (empty otherwise). `read_instance` (empty: every instance reads zero NPCs, and
  // completes only when its objective is met some other way). REQUIRES: now_ms does not
  // decrease across calls.
  std::vector<DirectorEvent> after_tick(std::int64_t now_ms, std::span<const CellCount> cells,
                                        const PlayersWithin& players_within,
                                        const ReadInstance& read_instance = {});

  // Redeploys (EventRegistry::replace): new instances use the new definitions.
  void deploy(EventCatalog catalog);

  const EventCatalog& catalog() const { return catalog_; }
  const EventRegistry& registry() const { return registry_; }
  const DensityMap& density() const { return density_; }
  const std::vector<ForecastArea>& forecasts() const { return forecasts_; }
  const DirectorStats& stats() const { return stats_; }
  // How players experienced the events so far, per event id (region/director/experience.h).
  const EventExperience& experience() const { return experience_; }
  const DirectorOptions& options() const { return options_; }
  // The squares whose forecast says they are about to fill (ProactiveOptions), in grid order,
  // as of the last step. tick_period_s: the region's tick period.
  std::vector<ExpectedLoad> expected_loads(const ProactiveOptions& o, double tick_period_s) const;
  // Players inside each deployed event's area at the last step, by event id.
  const std::map<std::string, double, std::less<>>& players_in_areas() const {
    return last_inputs_.players_in_area;
  }

 private:
  void step(std::int64_t period_end_ms, const PlayersWithin& players_within,
            const ReadInstance& read_instance, std::vector<DirectorEvent>& out);

  DirectorOptions options_;
  EventCatalog catalog_;
  EventRegistry registry_;
  DensityMap density_;
  std::vector<ForecastArea> forecasts_;
  DirectorInputs last_inputs_;
  DirectorStats stats_;
  EventExperience experience_;
};

}  // namespace worldline::region::director
