#include "app/dashboard.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>

#include "app/event_npcs.h"
#include "app/event_routes.h"
#include "app/region_app.h"
#include "region/anticheat/flag_record.h"
#include "region/director/npc.h"
#include "region/game_rules.h"
#include "region/items.h"

namespace worldline::app {

namespace json = boost::json;
namespace director = region::director;

std::vector<double> interval_quantiles(const replica::Histogram& now,
                                       std::vector<std::uint64_t>& before,
                                       const std::vector<double>& qs) {
  const auto buckets = now.buckets();
  std::vector<std::uint64_t> counts(buckets.size()), delta(buckets.size());
  bool reset = before.size() > buckets.size();
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    counts[i] = buckets[i].second;
    if (i < before.size() && counts[i] < before[i]) reset = true;
  }
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    delta[i] = counts[i] - (reset || i >= before.size() ? 0 : before[i]);
    total += delta[i];
  }
  before = std::move(counts);
  std::vector<double> out;
  for (double q : qs) {
    double bound = 0;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; total > 0 && i < buckets.size(); ++i) {
      seen += delta[i];
      if (static_cast<double>(seen) >= q * static_cast<double>(total)) {
        bound = buckets[i].first;
        break;
      }
    }
    // +infinity (the last bucket) has no JSON form: say "beyond the last bound" as -1.
    out.push_back(std::isinf(bound) ? -1 : bound);
  }
  return out;
}

namespace {

// A coordinate to one decimal, as JSON: null if it is not finite (boost::json would write a bare
// NaN or Infinity, which no JSON parser takes, and the whole frame would be lost to the page).
json::value coordinate(double v) {
  const double r = std::round(v * 10) / 10;
  return std::isfinite(r) ? json::value(r) : json::value(nullptr);
}

// Entity ids as strings: NPC ids (at 2^63 and up) and large player ids lose digits as JavaScript
// numbers.
json::value id_json(std::uint64_t id) {
  return json::value(std::to_string(id));
}

json::object rect_json(const region::Rect& r) {
  return json::object{
      {"min_x", r.min_x}, {"min_z", r.min_z}, {"max_x", r.max_x}, {"max_z", r.max_z}};
}

}  // namespace

std::string DashboardFrames::frame(const replica::Replica& world, RegionApp& region,
                                   const DashboardContext& ctx, std::uint64_t now_ms) {
  region::RegionPipeline& pipeline = region.pipeline();
  gateway::RegionHost& host = region.host();
  const region::SpatialPartitioner& partition = pipeline.partition();

  // The map. Cells: every leaf of the partition with its worker and what stands in it.
  json::array cells;
  for (const region::CellReport& c : pipeline.cells()) {
    json::object cell = rect_json(partition.bounds(c.cell));
    cell["id"] = c.cell;
    cell["worker"] = c.worker;
    cell["entities"] = c.entities;
    cell["ghosts"] = c.ghosts;
    cell["queued"] = c.queued;
    cell["processed"] = c.processed_last_tick;
    cells.push_back(std::move(cell));
  }
  // Entities with a position: NPCs (the reserved id range), items, and players — every player the
  // world holds, this region's and the others' (`here`: a session attached to this node).
  const std::vector<std::uint64_t> online = host.online_players();
  struct Point {
    crdt::EntityId id;
    crdt::Vec3 at;
  };
  std::vector<Point> players, npcs;
  std::size_t items = 0, flagged = 0;
  for (const auto& [key, value] : world.store().entries()) {
    if (key.component == region::anticheat::kFlagsComponent) ++flagged;
    if (key.component != region::kPositionComponent) continue;
    const auto& position = std::get<crdt::Position>(value);
    if (!position.has_value()) continue;
    if (director::is_npc(key.entity)) {
      npcs.push_back({key.entity, position.value()});
    } else if (region::GameRules::is_item(world, key.entity)) {
      ++items;
    } else {
      players.push_back({key.entity, position.value()});
    }
  }
  const auto by_id = [](const Point& a, const Point& b) { return a.id < b.id; };
  std::sort(players.begin(), players.end(), by_id);
  std::sort(npcs.begin(), npcs.end(), by_id);
  // At most max_points of each, evenly spaced by id: the map keeps the crowd's shape.
  const auto listed = [&](const std::vector<Point>& all, auto&& row) {
    json::array out;
    const std::size_t n = all.size(), cap = std::max<std::size_t>(1, config_.max_points);
    const std::size_t take = std::min(n, cap);
    for (std::size_t k = 0; k < take; ++k)
      out.push_back(row(all[n <= cap ? k : k * n / cap]));
    return out;
  };
  // A ghost: seen read-only by this many cells besides its own (it stands near a border).
  const auto ghosted = [&](crdt::EntityId id) { return pipeline.ghost_cells_of(id).size(); };
  json::array player_rows = listed(players, [&](const Point& p) {
    const bool here = std::binary_search(online.begin(), online.end(), p.id);
    return json::array{id_json(p.id), coordinate(p.at.x), coordinate(p.at.z), here ? 1 : 0,
                       ghosted(p.id)};
  });
  json::array npc_rows = listed(npcs, [&](const Point& p) {
    return json::array{id_json(p.id), coordinate(p.at.x), coordinate(p.at.z),
                       region::GameRules::health(world, p.id), ghosted(p.id)};
  });
  json::array events;
  if (const director::Director* d = region.director()) {
    for (const director::EventInstance& i : d->registry().running()) {
      const director::EventArea& area = i.definition().area;
      const director::InstanceReading reading = EventNpcs::read(world, i.id());
      events.push_back(json::object{{"event", i.definition().id},
                                    {"phase", to_string(i.phase())},
                                    {"tier", i.tier()},
                                    {"x", area.x},
                                    {"z", area.z},
                                    {"radius", area.radius},
                                    {"npcs_alive", reading.npcs_alive},
                                    {"defeated", reading.objective_progress},
                                    {"deadline_ms", i.deadline_ms()}});
    }
  }

  // The figures over the interval since the previous frame.
  const region::PipelineStats& ps = pipeline.stats();
  const gateway::HostStats hs = host.stats();
  // After a spell with nobody watching (no frame for over two intervals), this frame starts over:
  // figures spanning the unwatched gap would be plotted as one sample of now.
  const bool resumed = last_ms_ && now_ms - last_ms_ > 2 * config_.interval_ms;
  const double secs =
      last_ms_ && !resumed && now_ms > last_ms_ ? static_cast<double>(now_ms - last_ms_) / 1000 : 0;
  const auto rate = [&](std::uint64_t now, std::uint64_t& before) {
    const double r = secs > 0 && now >= before ? static_cast<double>(now - before) / secs : 0;
    before = now;
    return std::round(r);
  };
  const double processed_per_s = rate(ps.processed, last_processed_);
  const double received_per_s = rate(hs.actions_received, last_received_);
  const double rejected_per_s = rate(hs.rejected, last_rejected_);
  last_ms_ = now_ms;
  const std::vector<double> qs{0.5, 0.95, 0.99};
  auto ack = interval_quantiles(hs.ack_ms, last_ack_, qs);
  auto tick = interval_quantiles(ps.tick_ms, last_tick_, qs);
  std::vector<double> turn(qs.size(), 0);
  if (ctx.loop) turn = interval_quantiles(ctx.loop->turn_ms, last_turn_, qs);
  if (resumed) ack = tick = turn = std::vector<double>(qs.size(), 0);  // re-baselined above
  const auto percentiles = [](const std::vector<double>& v) {
    return json::object{{"p50", v[0]}, {"p95", v[1]}, {"p99", v[2]}};
  };
  json::array peers;
  for (const auto& [id, peer] : world.stats(now_ms).peers) {
    peers.push_back(json::object{
        {"peer", id}, {"up", peer.up}, {"lag_ms", peer.lag_ms}, {"lag_groups", peer.lag_groups}});
  }

  return json::serialize(json::object{
      {"region", ctx.region_name},
      {"replica", world.id()},
      {"t_ms", now_ms},
      {"tick", ps.ticks},
      {"tick_hz", ctx.tick_hz},
      {"workers", pipeline.workers()},
      {"world", rect_json(partition.bounds(0))},
      {"cells", std::move(cells)},
      {"players_total", players.size()},
      {"players", std::move(player_rows)},
      {"npcs_total", npcs.size()},
      {"npcs", std::move(npc_rows)},
      {"items", items},
      {"events", std::move(events)},
      {"figures",
       json::object{
           {"interval_s", secs},
           {"sessions", hs.sessions},
           {"actions_per_s", processed_per_s},
           {"received_per_s", received_per_s},
           {"rejects_per_s", rejected_per_s},
           {"ack_ms", percentiles(ack)},
           {"tick_ms", percentiles(tick)},
           {"turn_ms", percentiles(turn)},
           {"late_ticks", ctx.loop ? ctx.loop->late : 0},
           {"event_streams", ctx.server.event_streams},
           {"players_flagged", flagged},
       }},
      {"replication", std::move(peers)},
  });
}

std::optional<gateway::HttpReply> dashboard_route(const gateway::HttpRequest& req,
                                                  const std::string& path,
                                                  const std::shared_ptr<gateway::EventFeed>& feed) {
  if (path != "/dashboard" && path.rfind("/dashboard/", 0) != 0) return std::nullopt;
  if (req.method != "GET") return gateway::HttpReply{405, "text/plain; charset=utf-8", "GET\n"};
  if (!feed) {
    return gateway::HttpReply{404, "text/plain; charset=utf-8",
                              "the dashboard is off on this node: it is on by default with "
                              "[gateway] admin_listen, or with [dashboard] enabled = true\n"};
  }
  if (path == "/dashboard/feed") return gateway::HttpReply::stream(feed);
  if (path == "/dashboard/state") {
    auto [seq, data] = feed->latest();
    if (!data) return gateway::HttpReply{503, "text/plain; charset=utf-8", "no frame yet\n"};
    return gateway::HttpReply{200, "application/json", *data};
  }
  std::string_view file = path == "/dashboard" ? "" : std::string_view(path).substr(11);
  if (file.empty()) file = "index.html";
  for (const DashboardFile& f : dashboard_files()) {
    if (f.path == file)
      return gateway::HttpReply{200, std::string(f.content_type), std::string(f.body)};
  }
  return gateway::HttpReply{404, "text/plain; charset=utf-8",
                            "not found: /dashboard/ (the page), /dashboard/state, "
                            "/dashboard/feed\n"};
}

}  // namespace worldline::app
