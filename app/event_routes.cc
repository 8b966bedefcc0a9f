#include "app/event_routes.h"

#include <cstdio>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include "app/region_app.h"

namespace worldline::app {
namespace {

namespace director = region::director;
namespace json = boost::json;

gateway::HttpReply text(int status, std::string body) {
  return {status, "text/plain; charset=utf-8", std::move(body)};
}

std::string hex(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

const char* to_string(director::SlotPhase p) {
  switch (p) {
    case director::SlotPhase::kArmed:
      return "armed";
    case director::SlotPhase::kActive:
      return "active";
    case director::SlotPhase::kCooldown:
      return "cooldown";
    case director::SlotPhase::kUnknown:
      break;
  }
  return "unknown";
}

std::string ids(const director::EventCatalog& c) {
  std::string s;
  for (const auto& e : c.events)
    s += (s.empty() ? "" : ", ") + e.id;
  return s.empty() ? "none" : s;
}

gateway::HttpReply director_off() {
  return text(404, "the world-event director is off on this node ([director] enabled = false)\n");
}

}  // namespace

const char* to_string(director::InstancePhase p) {
  switch (p) {
    case director::InstancePhase::kActive:
      return "active";
    case director::InstancePhase::kCompleted:
      return "completed";
    case director::InstancePhase::kFailed:
      return "failed";
  }
  return "unknown";
}

std::string running_events_json(const director::Director& d, const replica::Replica& world) {
  json::array running;
  for (const director::EventInstance& i : d.registry().running()) {
    const director::LeverValues& l = i.levers();
    const director::SpawnClaims claims = RegionApp::event_claims(world, i.id());
    const auto spawner = claims.settled_winner(RegionApp::membership(world));
    json::array claimed, seen;
    for (const director::SpawnClaim& c : claims.claims())
      claimed.push_back(json::object{{"region", c.region}, {"hlc", c.stamp.to_string()}});
    for (const auto& [r, members] : claims.seen())
      seen.push_back(r);
    running.push_back(json::object{
        {"instance", hex(i.id())},
        {"spawner", spawner ? json::value(spawner->region) : json::value(nullptr)},
        {"spawns_here", spawner && spawner->region == world.id()},
        {"claims", std::move(claimed)},
        {"claims_seen_by", std::move(seen)},
        {"ended_before", claims.ended()},
        {"event", i.definition().id},
        {"phase", to_string(i.phase())},
        {"tier", i.tier()},
        {"npcs_requested", i.npcs_requested()},
        {"levers", json::object{{"npc_count", l.npc_count},
                                {"npc_health_mult", l.npc_health_mult},
                                {"npc_damage_mult", l.npc_damage_mult},
                                {"elites", l.elites},
                                {"objective", l.objective},
                                {"duration_s", l.duration_s}}},
        {"started_ms", i.started_ms()},
        {"deadline_ms", i.deadline_ms()},
    });
  }
  json::array slots;
  for (const director::EventDefinition& e : d.catalog().events) {
    const auto in_area = d.players_in_areas().find(e.id);
    slots.push_back(json::object{
        {"event", e.id},
        {"trigger", director::to_string(e.trigger.kind)},
        {"phase", to_string(d.registry().phase(e.id))},
        {"players_in_area", in_area == d.players_in_areas().end() ? 0.0 : in_area->second},
    });
  }
  const director::DirectorStats& s = d.stats();
  return json::serialize(json::object{
             {"running", std::move(running)},
             {"slots", std::move(slots)},
             {"started", s.started},
             {"completed", s.completed},
             {"failed", s.failed},
         }) +
         "\n";
}

gateway::HttpReply event_routes(const gateway::HttpRequest& req, const std::string& path,
                                RegionApp& app, const OnLoop& on_loop) {
  const std::string prefix = "/admin/events/";
  // By method first: any id may follow the prefix, "running" included (DELETE removes it).
  if (req.method == "DELETE") {
    if (path.rfind(prefix, 0) != 0 || path.size() == prefix.size()) {
      return text(405, "DELETE /admin/events/{id}\n");
    }
    const std::string id = path.substr(prefix.size());
    return on_loop([&app, id](replica::Replica&, bool&) -> gateway::HttpReply {
      if (!app.director()) return director_off();
      director::EventCatalog rest = app.director()->catalog();
      const auto before = rest.events.size();
      std::erase_if(rest.events, [&](const director::EventDefinition& e) { return e.id == id; });
      if (rest.events.size() == before) {
        // The id is echoed only if it is one (a URL may hold anything).
        const bool shown = director::is_event_id(id);
        return text(404, "no event " + (shown ? "'" + id + "'" : std::string("with that id")) +
                             " is deployed (GET /admin/events lists them)\n");
      }
      // What stays must still hold together: another event's `after` trigger or `escalates_to`
      // may name the one removed.
      if (auto checked = director::check_event_references(rest, "DELETE /admin/events/" + id);
          !checked) {
        return text(409, checked.error().message + " (remove or change that event first)\n");
      }
      const std::size_t running = app.director()->registry().running().size();
      app.director()->deploy(std::move(rest));
      spdlog::info(
          "admin: world event '{}' removed on this node; {} running instances keep their "
          "definitions",
          id, running);
      return text(200,
                  "removed '" + id +
                      "' on this node: it starts no new instance here; a running one runs "
                      "to its end (not kept across a restart: change [director] events too)\n");
    });
  }
  if (path == "/admin/events/running") {
    if (req.method != "GET") return text(405, "GET /admin/events/running\n");
    return on_loop([&app](replica::Replica& world, bool&) -> gateway::HttpReply {
      if (!app.director()) return director_off();
      return {200, "application/json", running_events_json(*app.director(), world)};
    });
  }
  if (path == "/admin/events" || path == "/admin/events/") {
    if (req.method == "GET") {
      return on_loop([&app](replica::Replica&, bool&) -> gateway::HttpReply {
        if (!app.director()) return director_off();
        return {200, "application/toml", director::to_toml(app.director()->catalog())};
      });
    }
    if (req.method == "PUT" || req.method == "POST") {
      auto parsed = director::parse_event_catalog(req.body, "PUT /admin/events");
      if (!parsed) return text(400, parsed.error().message + "\n");
      return on_loop([&app, catalog = std::move(parsed).value()](replica::Replica&, bool&) mutable {
        if (!app.director()) return director_off();
        const std::size_t running = app.director()->registry().running().size();
        const std::size_t n = catalog.events.size();
        const std::string names = ids(catalog);
        app.director()->deploy(std::move(catalog));
        spdlog::info(
            "admin: {} world-event definitions deployed on this node ({}); {} running "
            "instances keep theirs",
            n, names, running);
        return text(200, "deployed " + std::to_string(n) + " events (" + names +
                             ") on this node: new instances use them; " + std::to_string(running) +
                             " running instances keep the definitions they started with. Not "
                             "replicated, not kept across a restart: put the same file to every "
                             "region, and into [director] events\n");
      });
    }
    return text(405, "GET or PUT /admin/events, DELETE /admin/events/{id}\n");
  }
  return text(404, "not found: /admin/events, /admin/events/running, /admin/events/{id}\n");
}

void npc_metrics(PromText& p, const NpcStats& n) {
  p.gauge("worldline_npcs_alive",
          "NPCs this region spawned for running world events, not yet seen defeated.", n.alive);
  p.counter("worldline_npcs_spawned_total", "NPCs this region spawned.", n.spawned);
  p.counter("worldline_npcs_defeated_total", "NPCs this region spawned that were defeated.",
            n.defeated);
  p.counter("worldline_npc_actions_total",
            "Actions this region's NPCs submitted to the pipeline (moves and attacks).", n.actions);
  p.counter("worldline_event_gold_paid_total",
            "Gold paid to players by contribution when an event this region spawned completed.",
            n.gold_paid);
  p.counter("worldline_npcs_not_spawned_total",
            "NPCs asked for beyond the region's limit (max_alive at once), not spawned.",
            n.not_spawned);
}

void director_metrics(PromText& p, const RegionApp& app, const replica::Replica& world) {
  const director::Director& d = *app.director();
  const director::DirectorStats& s = d.stats();
  p.counter("worldline_director_samples_total", "Density sample periods closed (director steps).",
            s.samples);
  p.counter("worldline_events_started_total", "World-event instances started.", s.started);
  p.counter("worldline_events_completed_total", "World-event instances completed.", s.completed);
  p.counter("worldline_events_failed_total", "World-event instances failed (time ran out).",
            s.failed);
  p.counter("worldline_events_rescaled_total", "Re-evaluations that changed a running instance.",
            s.rescaled);
  p.gauge("worldline_events_running", "World-event instances running.",
          d.registry().running().size());
  std::size_t here = 0;
  for (const director::EventInstance& i : d.registry().running())
    here += RegionApp::event_spawner(world, i.id()) == std::optional<std::uint64_t>(world.id());
  p.gauge("worldline_events_running_spawned_here",
          "Running instances whose settled spawn claims name this region (the others are spawned "
          "by another region, or their claims have not settled yet).",
          here);
  p.gauge("worldline_events_awaiting_settlement",
          "Running instances started here whose spawn claims have not settled: no region spawns "
          "their NPCs until every region has seen the claims (a partition holds them here).",
          app.spawns_awaiting_settlement());
  p.gauge("worldline_events_deployed", "World-event definitions deployed.",
          d.catalog().events.size());
  // One family whose samples are (labels, value) pairs; a family with no sample is left out.
  using Samples = std::vector<std::pair<std::string, double>>;
  auto family = [&p](const std::string& name, const std::string& help, bool counter,
                     const Samples& samples) {
    for (std::size_t i = 0; i < samples.size(); ++i) {
      const auto& [labels, v] = samples[i];
      if (i > 0) {
        p.more(name, v, labels);
      } else if (counter) {
        p.counter(name, help, v, labels);
      } else {
        p.gauge(name, help, v, labels);
      }
    }
  };
  auto horizon = [](double h) {
    return PromText::label("horizon_s", std::to_string(static_cast<int>(h)));
  };
  // How players experienced each event (region/director/experience.h), per event id.
  Samples lived, ended, completion_sum, completion_count, participant_s, peak;
  for (const auto& [event, q] : d.experience().by_event()) {
    const std::string e = PromText::label("event", event);
    for (std::size_t k = 0; k < director::kExperiences; ++k) {
      lived.emplace_back(
          e + "," + PromText::label("experience", to_string(static_cast<director::Experience>(k))),
          q.seconds[k]);
    }
    ended.emplace_back(e + "," + PromText::label("outcome", "completed"),
                       static_cast<double>(q.completed));
    ended.emplace_back(e + "," + PromText::label("outcome", "failed"),
                       static_cast<double>(q.failed));
    completion_sum.emplace_back(e, q.completion_seconds_sum);
    completion_count.emplace_back(e, static_cast<double>(q.completed));
    participant_s.emplace_back(e, q.participant_seconds);
    peak.emplace_back(e, q.peak_participants);
  }
  family("worldline_event_experience_seconds_total",
         "Seconds of running instances by how their players lived them: engaged (players and "
         "NPCs to fight), crowded (more players per live NPC than crowded_players_per_npc), "
         "waiting (players, no live NPC), unattended (nobody in the area).",
         true, lived);
  family("worldline_event_instances_ended_total", "Instances ended, by outcome.", true, ended);
  family("worldline_event_completion_seconds_sum",
         "Seconds from start to completion, summed over the completed instances.", true,
         completion_sum);
  family("worldline_event_completion_seconds_count", "Completed instances (the sum's count).", true,
         completion_count);
  family("worldline_event_participant_seconds_total",
         "Participants × seconds over the running instances (÷ the experience seconds: the mean "
         "participants).",
         true, participant_s);
  family("worldline_event_participants_peak", "The most participants any instance had.", false,
         peak);
  // Per square of the forecast grid: the newest sample and the forecasts at the tracked
  // horizons.
  Samples entities, actions, forecast;
  for (const director::ForecastArea& f : d.forecasts()) {
    const std::string area =
        PromText::label("area", std::to_string(f.gx) + "," + std::to_string(f.gz));
    entities.emplace_back(area, f.last_players);
    actions.emplace_back(area, f.last_actions_per_s);
    for (const director::HorizonError& h : f.players.errors())
      forecast.emplace_back(area + "," + horizon(h.horizon_s), f.players.forecast(h.horizon_s));
  }
  family("worldline_density_entities",
         "Entities in a square of the forecast grid, newest sample: players (offline ones "
         "included) and items, the load the partitioner sees.",
         false, entities);
  family("worldline_density_actions_per_second",
         "Actions/s in a square of the forecast grid (newest sample).", false, actions);
  family("worldline_forecast_entities", "Entities forecast in a square, horizon_s ahead.", false,
         forecast);
  // The error pooled over the squares since the node started, per horizon: Σ scored absolute
  // percentage errors / Σ scored. A horizon with nothing scored yet has no MAPE sample (0 would
  // read as a perfect forecast).
  if (d.forecasts().empty()) return;
  const auto& horizons = d.forecasts().front().players.errors();
  Samples mape, scored_total;
  for (std::size_t k = 0; k < horizons.size(); ++k) {
    double sum = 0;
    std::uint64_t scored = 0;
    for (const director::ForecastArea& f : d.forecasts()) {
      sum += f.players.errors()[k].sum_ape;
      scored += f.players.errors()[k].scored;
    }
    const std::string label = horizon(horizons[k].horizon_s);
    if (scored > 0) mape.emplace_back(label, 100 * sum / static_cast<double>(scored));
    scored_total.emplace_back(label, static_cast<double>(scored));
  }
  family("worldline_forecast_entities_mape_percent",
         "Mean absolute percentage error of the entity forecasts since the node started, pooled "
         "over the squares (actuals below 1 not scored).",
         false, mape);
  family("worldline_forecast_entities_scored_total",
         "Entity forecasts scored against their actual, pooled over the squares.", true,
         scored_total);
}

}  // namespace worldline::app
