#include "region/director/director.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>

namespace worldline::region::director {
namespace {

DirectorOptions checked(DirectorOptions o) {
  if (o.forecast_grid < 1 || o.forecast_grid > 16) {
    throw std::invalid_argument("Director: forecast_grid must be 1..16, not " +
                                std::to_string(o.forecast_grid));
  }
  if (!(o.world.max_x > o.world.min_x && o.world.max_z > o.world.min_z)) {
    throw std::invalid_argument("Director: the world rectangle is empty");
  }
  if (o.density.sample_period_ms <= 0) {
    throw std::invalid_argument("Director: density.sample_period_ms must be > 0");
  }
  o.holt.step_s = static_cast<double>(o.density.sample_period_ms) / 1000;
  return o;
}

}  // namespace

Director::Director(DirectorOptions options, EventCatalog catalog)
    : options_(checked(std::move(options))),
      catalog_(catalog),
      registry_(std::move(catalog), options_.registry),
      density_(options_.density),
      experience_(options_.experience) {
  const int n = options_.forecast_grid;
  const Rect& w = options_.world;
  const double dx = (w.max_x - w.min_x) / n, dz = (w.max_z - w.min_z) / n;
  for (int gz = 0; gz < n; ++gz) {
    for (int gx = 0; gx < n; ++gx) {
      const Rect area{w.min_x + gx * dx, w.min_z + gz * dz, w.min_x + (gx + 1) * dx,
                      w.min_z + (gz + 1) * dz};
      forecasts_.push_back(ForecastArea{area, gx, gz, HoltForecast(options_.holt),
                                        HoltForecast(options_.holt), 0, 0});
    }
  }
}

void Director::deploy(EventCatalog catalog) {
  registry_.replace(catalog);
  catalog_ = std::move(catalog);
  ++stats_.deploys;
}

std::vector<DirectorEvent> Director::after_tick(std::int64_t now_ms,
                                                std::span<const CellCount> cells,
                                                const PlayersWithin& players_within,
                                                const ReadInstance& read_instance) {
  std::vector<DirectorEvent> out;
  const auto before = density_.latest_period();
  density_.observe_tick(now_ms, cells);
  const auto latest = density_.latest_period();
  if (latest && latest != before) {
    step((*latest + 1) * options_.density.sample_period_ms, players_within, read_instance, out);
  }
  return out;
}

void Director::step(std::int64_t period_end_ms, const PlayersWithin& players_within,
                    const ReadInstance& read_instance, std::vector<DirectorEvent>& out) {
  ++stats_.samples;
  // The forecasts observe the period that closed, stamped with its start (in seconds).
  const double t_s = static_cast<double>(*density_.latest_period()) * options_.holt.step_s;
  for (ForecastArea& f : forecasts_) {
    const DensitySample s = density_.area_latest(f.area);
    f.players.observe(t_s, s.players);
    f.actions.observe(t_s, s.actions_per_s);
    f.last_players = s.players;
    f.last_actions_per_s = s.actions_per_s;
  }
  // The registry: players in each event's area now, and in each running instance's.
  DirectorInputs inputs;
  for (const EventDefinition& e : catalog_.events) {
    const Circle c{e.area.x, e.area.z, e.area.radius};
    inputs.players_in_area.emplace(e.id, players_within(c));
  }
  for (const EventInstance& i : registry_.running()) {
    const EventArea& a = i.definition().area;
    InstanceReading& r = inputs.instances[i.id()];
    if (read_instance) r = read_instance(i.id());
    r.participants = players_within(Circle{a.x, a.z, a.radius});
  }
  // Each running instance's step as its players lived it; their starts, for the ends below.
  std::map<InstanceId, std::int64_t> started_ms;
  for (const EventInstance& i : registry_.running()) {
    experience_.observe(i.definition().id, inputs.instances[i.id()], options_.holt.step_s);
    started_ms.emplace(i.id(), i.started_ms());
  }
  for (DirectorEvent& e : registry_.advance(period_end_ms, inputs)) {
    switch (e.kind) {
      case DirectorEventKind::kStarted:
        ++stats_.started;
        break;
      case DirectorEventKind::kCompleted:
      case DirectorEventKind::kFailed: {
        const bool completed = e.kind == DirectorEventKind::kCompleted;
        ++(completed ? stats_.completed : stats_.failed);
        if (const auto s = started_ms.find(e.instance); s != started_ms.end())
          experience_.ended(e.event_id, completed, s->second, period_end_ms);
        break;
      }
      case DirectorEventKind::kRescaled:
        ++stats_.rescaled;
        break;
      case DirectorEventKind::kArmed:
        break;
    }
    out.push_back(std::move(e));
  }
  last_inputs_ = std::move(inputs);
}

std::vector<ExpectedLoad> Director::expected_loads(const ProactiveOptions& o,
                                                   double tick_period_s) const {
  std::vector<ExpectedLoad> out;
  for (const ForecastArea& f : forecasts_) {
    if (f.players.observations() < o.min_observations) continue;
    const double now = f.last_players;
    const double coming = f.players.forecast(o.horizon_s);
    if (!(coming - now > std::max(o.margin_entities, o.margin_share * now))) continue;
    const double load =
        coming + std::max(0.0, f.actions.forecast(o.horizon_s)) * std::max(0.0, tick_period_s);
    // A forecast is unbounded above in principle (a steep trend): the partitioner's unit is 32
    // bits, and its expectations are capped by its own limits (max_leaves_ahead) anyway.
    const double capped = std::min(load, 4.0e9);
    out.push_back(
        ExpectedLoad{f.area, static_cast<std::uint32_t>(std::lround(capped)), now, coming});
  }
  return out;
}

}  // namespace worldline::region::director
