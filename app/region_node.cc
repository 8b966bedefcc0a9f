#include "app/region_node.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include <charconv>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "app/event_routes.h"
#include "app/flag_review.h"
#include "app/node_metrics.h"
#include "app/prometheus.h"
#include "app/region_app.h"
#include "gateway/region_host.h"
#include "region/anticheat/flag_record.h"

namespace worldline::app {
namespace {

// Fault injection for tests (docs/node.md, "Exit codes"): WORLDLINE_FAULT_THROW_AT_TICK=<n> makes
// the region's tick n throw, as a handler bug would. 0 (unset or unparsable): never.
std::uint64_t fault_throw_at_tick() {
  const char* v = std::getenv("WORLDLINE_FAULT_THROW_AT_TICK");
  if (!v) return 0;
  char* end = nullptr;
  const unsigned long long n = std::strtoull(v, &end, 10);
  return end && *end == '\0' ? n : 0;
}

std::int64_t unix_now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Everything a running node owns beyond the replica node; touched on the node's thread except
// where a mutex says otherwise.
struct RegionNode final : replica::NodeApp {
  const RegionNodeConfig& config;
  const RegionNodeRun& run;
  crdt::SystemClock wall;
  RegionApp region;
  region::RegionPipeline* pipeline = nullptr;  // region's, once started
  gateway::RegionHost* host = nullptr;         // region's, once started
  std::unique_ptr<gateway::GatewayServer> server;
  std::uint64_t last_status_ms = 0, last_status_processed = 0, last_metrics_ms = 0;
  // The dashboard's frames (the node's thread) and the feed the gateway serves them from; no feed
  // when [dashboard] enabled = false.
  DashboardFrames dashboard_frames{config.dashboard};
  std::shared_ptr<gateway::EventFeed> dashboard_feed =
      config.dashboard.enabled ? std::make_shared<gateway::EventFeed>() : nullptr;
  std::uint64_t last_dashboard_ms = 0;
  // When GET /dashboard/state was last asked (steady ms): frames are built only while someone
  // looks — a stream open, or a /state within kDashboardWantedMs — and once at the start.
  std::atomic<std::uint64_t> dashboard_wanted_ms{0};
  static constexpr std::uint64_t kDashboardWantedMs = 10'000;
  // Time to build one frame, on the loop (worldline_dashboard_frame_ms).
  replica::Histogram dashboard_frame_ms{{0.5, 1, 2, 5, 10, 20, 50, 100}};
  std::atomic<std::uint64_t> last_tick_ms{0};
  // The replica awaits its peers' states after a quarantine (its write fence): no tick runs, so
  // the node takes no action in. /healthz says so, so a load balancer sends players elsewhere.
  std::atomic<bool> repairing{false};
  replica::NodeStats node_stats;  // refreshed by the replica node every tick, on its thread
  const std::uint64_t throw_at_tick = fault_throw_at_tick();

  // A request that needs the world, handed from a gateway I/O thread to the node's thread (the
  // world's owner) and run between ticks; the node's thread answers through `responder`. The I/O
  // thread does not wait: the players' sessions it serves go on (the gateway answers 503 if the
  // loop takes longer than ServerOptions::http_answer_timeout_ms, 5 s).
  struct WorldQuery {
    // Sets `after_commit` when the reply may go only once the tick's group is durable (a write).
    std::function<gateway::HttpReply(replica::Replica&, bool& after_commit)> run;
    gateway::HttpResponder responder;
  };
  // Review requests queued or awaiting their commit, at most kMaxQueries: beyond, 503 at once.
  static constexpr std::size_t kMaxQueries = 64;
  std::atomic<std::size_t> queries_in_flight{0};
  std::vector<std::pair<WorldQuery, gateway::HttpReply>> awaiting_commit;
  std::array<std::uint64_t, 2> verdicts{};  // written here, by verdict kind (the node's thread)

  std::mutex mutex;
  std::string metrics_text;                        // GUARDED_BY(mutex)
  std::optional<region::PriorityRules> new_rules;  // GUARDED_BY(mutex), applied between ticks
  std::string rules_toml;                          // GUARDED_BY(mutex)
  std::deque<WorldQuery> queries;                  // GUARDED_BY(mutex), run between ticks
  bool loop_stopped = false;  // GUARDED_BY(mutex): queries are refused from then on

  RegionNode(const RegionNodeConfig& c, const RegionNodeRun& r)
      : config(c), run(r), region(app_options(c), wall) {}

  // The detector's own thread pays only where it has a core: with the workers, the gateway's I/O
  // threads and the loop thread each on one, it needs one more. Where the cores are already
  // taken (the demo's three nodes on two cores), it would compete with the tick: inline instead.
  static bool detector_thread_by_default(const RegionNodeConfig& c) {
    const unsigned cores = std::thread::hardware_concurrency();
    return cores >= static_cast<unsigned>(c.pipeline.partition.workers + c.gateway.io_threads + 2);
  }

  RegionAppOptions app_options(const RegionNodeConfig& c) {
    RegionAppOptions o;
    o.flag_response = c.flag_response;
    o.detector_thread = c.detector_thread.value_or(detector_thread_by_default(c));
    o.detector_nice = c.detector_nice;
    o.throttle_actions_per_s = c.throttle_actions_per_s;
    o.throttle_seconds = c.throttle_seconds;
    // Called on the node's loop thread after a tick, when the gateway is up.
    o.throttle = [this](std::uint64_t player, double per_s, std::uint64_t for_ms) {
      if (server) server->throttle(player, per_s, for_ms);
    };
    o.host = gateway::HostOptions{c.region_name, c.tick_hz,      c.interest_radius,
                                  c.spawn,       c.spawn_radius, c.replica.replicated_k};
    o.pipeline = c.pipeline;
    o.game = c.game;
    o.rules = c.rules;
    o.anticheat = c.anticheat;
    o.director = c.director;
    o.forecast_grid = c.forecast_grid;
    o.proactive = c.proactive;
    o.events = c.events;
    return o;
  }

  gateway::HttpReply http(const gateway::HttpRequest& req) {
    const std::string path = req.target.substr(0, req.target.find('?'));
    if (path == "/healthz") {
      if (repairing.load()) {
        return {503, "text/plain; charset=utf-8",
                "repairing: lost state is being fetched back from the peers; actions wait\n"};
      }
      const std::uint64_t last = last_tick_ms.load();
      const std::uint64_t now = replica::steady_ms();
      if (last == 0 || now - last > 2000) {
        return {503, "text/plain; charset=utf-8", "not ticking\n"};
      }
      return {200, "text/plain; charset=utf-8", "ok\n"};
    }
    if (path == "/metrics") {
      std::lock_guard<std::mutex> lock(mutex);
      return {200, "text/plain; version=0.0.4", metrics_text};
    }
    if (path == "/dashboard/state") dashboard_wanted_ms = replica::steady_ms();
    if (auto reply = dashboard_route(req, path, dashboard_feed)) return std::move(*reply);
    if (path.rfind("/admin/flags", 0) == 0 || path == "/admin/anticheat/recalibrate") {
      gateway::TokenClaims claims;
      if (auto refused = refuse_non_admin(req, claims)) return *refused;
      return review(req, path, claims);
    }
    if (path.rfind("/admin/events", 0) == 0) {
      gateway::TokenClaims claims;
      if (auto refused = refuse_non_admin(req, claims)) return *refused;
      return event_routes(req, path, region, [&](auto work) { return on_world(req, work); });
    }
    if (path == "/admin/rules") {
      gateway::TokenClaims claims;
      if (auto refused = refuse_non_admin(req, claims)) return *refused;
      if (req.method == "GET") {
        std::lock_guard<std::mutex> lock(mutex);
        return {200, "application/toml", rules_toml};
      }
      if (req.method == "PUT" || req.method == "POST") {
        auto parsed = region::PriorityRules::parse(req.body, "PUT /admin/rules");
        if (!parsed) return {400, "text/plain; charset=utf-8", parsed.error().message + "\n"};
        spdlog::info("admin (player {}): new priority rules, applied from the next tick",
                     claims.player);
        std::lock_guard<std::mutex> lock(mutex);
        new_rules = std::move(parsed).value();
        rules_toml = new_rules->to_toml();
        return {200, "text/plain; charset=utf-8", "accepted: applies from the next tick\n"};
      }
      return {405, "text/plain; charset=utf-8", "GET or PUT\n"};
    }
    return {404, "text/plain; charset=utf-8",
            "not found: /healthz, /metrics, /dashboard/, /admin/rules, /admin/flags, "
            "/admin/anticheat/recalibrate, /admin/events\n"};
  }

  // The anticheat review routes (docs/anticheat.md, "Review workflow"). Requests are checked
  // here, on the I/O thread; what needs the world runs on the node's thread (on_world).
  gateway::HttpReply review(const gateway::HttpRequest& req, const std::string& path,
                            const gateway::TokenClaims& claims) {
    const auto text = [](int status, const std::string& body) {
      return gateway::HttpReply{status, "text/plain; charset=utf-8", body + "\n"};
    };
    const auto json = [](int status, std::string body) {
      return gateway::HttpReply{status, "application/json", std::move(body)};
    };
    const std::size_t q = req.target.find('?');
    const std::string query = q == std::string::npos ? "" : req.target.substr(q + 1);
    if (path == "/admin/anticheat/recalibrate") {
      if (req.method != "POST") return text(405, "POST");
      const std::size_t min_reviewed = config.recalibrate_min_reviewed;
      return on_world(req, [this, json, min_reviewed](replica::Replica& world, bool&) {
        const auto& detector = region.detector();
        const Recalibration r =
            recalibrate(reviewed_scores(collect_flags(world.store()), detector), min_reviewed,
                        detector.config().calibration_a, detector.config().calibration_b);
        if (r.applied) {
          // Between ticks, through the tap: nothing observes meanwhile (set_calibration's
          // requirement), and every tick already handed over is observed first.
          region.set_calibration(r.fit.a, r.fit.b);
          spdlog::info(
              "region {}: anticheat recalibrated on {} reviewed flags ({} confirmed): a {:.4f} -> "
              "{:.4f}, b {:.4f} -> {:.4f}, from tick {}",
              config.region_name, r.reviewed, r.confirmed, r.previous_a, r.fit.a, r.previous_b,
              r.fit.b, region.ticks() + 1);
        }
        return json(r.applied ? 200 : 409, recalibration_json(r));
      });
    }
    if (path == "/admin/flags" || path == "/admin/flags/") {
      if (req.method != "GET") return text(405, "GET");
      auto filter = parse_flag_filter(query);
      if (!filter) return text(400, filter.error().message);
      return on_world(req, [json, filter = filter.value()](replica::Replica& world, bool&) {
        std::size_t total = 0;
        const auto flags = select_flags(collect_flags(world.store()), filter, &total);
        return json(200, flags_json(flags, total));
      });
    }
    if (path.rfind("/admin/flags/", 0) != 0) {  // "/admin/flagsX5" is no flag route
      return text(404, "not found: " + path);
    }
    std::string_view rest = std::string_view(path).substr(std::string_view("/admin/flags/").size());
    const bool verdict = rest.size() > 8 && rest.substr(rest.size() - 8) == "/verdict";
    if (verdict) rest.remove_suffix(8);
    std::uint64_t id = 0;
    const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), id);
    if (rest.empty() || ec != std::errc() || end != rest.data() + rest.size()) {
      return text(404, "no flag '" + std::string(rest.substr(0, 40)) +
                           "': a flag id is a decimal number (GET /admin/flags lists them)");
    }
    const std::string unknown = "no flag " + std::to_string(id) + " in the world";
    if (!verdict) {
      if (req.method != "GET") return text(405, "GET");
      return on_world(req, [json, text, id, unknown](replica::Replica& world, bool&) {
        const auto flag = find_flag(world.store(), id);
        return flag ? json(200, flag_json(*flag)) : text(404, unknown);
      });
    }
    if (req.method != "POST") return text(405, "POST");
    auto body = parse_verdict_body(req.body);
    if (!body) return text(400, body.error().message);
    return on_world(req, [this, json, text, id, unknown, body = std::move(body).value(),
                          by = claims.player](replica::Replica& world, bool& after_commit) {
      auto flag = find_flag(world.store(), id);
      if (!flag) return text(404, unknown);
      const region::anticheat::Verdict v{id, body.verdict, by, region.clock().now().physical_ms,
                                         body.note};
      if (auto written = write_verdict(world, flag->record.flag.player, v); !written) {
        return text(503, "not written: " + written.error().message);
      }
      ++verdicts[static_cast<std::size_t>(v.verdict)];
      spdlog::info("region {}: admin (player {}): flag {} on player {} {}", config.region_name, by,
                   id, flag->record.flag.player, region::anticheat::to_string(v.verdict));
      flag->verdict = v;
      after_commit = true;  // the reply says it is journaled
      return json(200, flag_json(*flag));
    });
  }

  // Queues `run` for the node's thread, which runs it between ticks and answers `req` with its
  // reply; returns HttpReply::later(), or 503 at once when kMaxQueries are in flight. Called on
  // a gateway I/O thread.
  gateway::HttpReply on_world(
      const gateway::HttpRequest& req,
      std::function<gateway::HttpReply(replica::Replica&, bool& after_commit)> run) {
    if (queries_in_flight.fetch_add(1) >= kMaxQueries) {
      --queries_in_flight;
      return {503, "text/plain; charset=utf-8", "busy: too many review requests waiting\n"};
    }
    std::lock_guard<std::mutex> lock(mutex);
    if (loop_stopped) {  // nobody would serve the queue
      --queries_in_flight;
      return {503, "text/plain; charset=utf-8", "the node is stopping: not run\n"};
    }
    queries.push_back(WorldQuery{std::move(run), req.responder});
    return gateway::HttpReply::later();
  }

  void answer(WorldQuery& query, gateway::HttpReply reply) {
    query.responder.answer(std::move(reply));
    --queries_in_flight;
  }

  // The review requests waiting, run on the node's thread between ticks (before this tick's
  // actions, whose group their writes join).
  void serve_queries(replica::Replica& world) {
    std::deque<WorldQuery> todo;
    {
      std::lock_guard<std::mutex> lock(mutex);
      todo.swap(queries);
    }
    for (auto& query : todo) {
      if (query.responder.answered()) {  // the gateway's timeout answered it: nobody waits
        --queries_in_flight;
        continue;
      }
      bool after_commit = false;
      gateway::HttpReply reply;
      try {
        reply = query.run(world, after_commit);
      } catch (const std::exception& e) {
        // A bug in a review route must not stop the game: it is this request's failure alone
        // (the reads write nothing; a verdict written before the failure stays written).
        spdlog::error("region {}: review request failed: {}", config.region_name, e.what());
        reply = {500, "text/plain; charset=utf-8",
                 std::string("internal error: ") + e.what() + "\n"};
        after_commit = false;
      }
      if (after_commit) {
        awaiting_commit.emplace_back(std::move(query), std::move(reply));
      } else {
        answer(query, std::move(reply));
      }
    }
  }

  // When the loop has stopped: every review request still queued or awaiting its commit is
  // answered 503 (a write awaiting its commit may or may not be journaled).
  void refuse_queries_at_stop() {
    std::deque<WorldQuery> todo;
    {
      std::lock_guard<std::mutex> lock(mutex);
      loop_stopped = true;
      todo.swap(queries);
    }
    for (auto& query : todo)
      answer(query, {503, "text/plain; charset=utf-8", "the node is stopping: not run\n"});
    for (auto& [query, reply] : awaiting_commit)
      answer(query, {503, "text/plain; charset=utf-8",
                     "the node stopped before the write's commit: read the flag before you send "
                     "it again\n"});
    awaiting_commit.clear();
  }

  // The reply that refuses the request unless its token has role admin; `claims` gets the
  // token's claims when it does.
  std::optional<gateway::HttpReply> refuse_non_admin(const gateway::HttpRequest& req,
                                                     gateway::TokenClaims& claims) {
    if (req.bearer.empty()) {
      return gateway::HttpReply{401, "text/plain; charset=utf-8",
                                "needs Authorization: Bearer <token with role admin> (worldline "
                                "token --role admin)\n"};
    }
    auto verified = gateway::verify_token(req.bearer, config.gateway.key, unix_now_s());
    if (!verified) {
      return gateway::HttpReply{401, "text/plain; charset=utf-8", verified.error().message + "\n"};
    }
    if (verified.value().role != "admin") {
      return gateway::HttpReply{403, "text/plain; charset=utf-8", "role admin required\n"};
    }
    claims = verified.value();
    return std::nullopt;
  }

  // The replica exists now (recovered from LMDB): build the region and open the doors.
  bool start(replica::Replica& world) override {
    if (!region.start(world)) return false;
    pipeline = &region.pipeline();
    host = &region.host();
    {
      std::lock_guard<std::mutex> lock(mutex);
      rules_toml = config.rules.to_toml();
    }
    server = std::make_unique<gateway::GatewayServer>(
        config.gateway, *host, [this](const gateway::HttpRequest& r) { return http(r); });
    auto started = server->start();
    if (!started) {
      spdlog::error("{}", started.error().message);
      return false;
    }
    spdlog::info(
        "region {} ({}): {} workers at {} Hz; clients on ws://{}/ (worldline.json); cheat "
        "detection {}",
        config.region_name, world.id(), pipeline->workers(), config.tick_hz, config.gateway.listen,
        !config.anticheat.enabled ? std::string("off")
        : config.detector_thread.value_or(detector_thread_by_default(config))
            ? "on its own thread (nice " + std::to_string(config.detector_nice) + ")"
            : std::string("inline (anticheat.detector_thread: no core to spare)"));
    if (dashboard_feed) {
      const bool own_port = server->admin_port() != 0;
      const std::string& address = own_port ? config.gateway.admin_listen : config.gateway.listen;
      spdlog::info("region {}: live dashboard on http://{}:{}/dashboard/", config.region_name,
                   address.substr(0, address.rfind(':')),
                   own_port ? server->admin_port() : server->port());
      if (!own_port) {
        spdlog::warn(
            "region {}: the dashboard is served on the players' port ([dashboard] enabled = true "
            "without [gateway] admin_listen): anyone who can reach {} can read every player's "
            "position from /dashboard/state",
            config.region_name, config.gateway.listen);
      }
    }
    if (run.on_listening) run.on_listening(server->port());
    return true;
  }

  // The last tick comes next: the region waits for its detector then (RegionApp::finishing).
  void finishing() override { region.finishing(); }

  void tick(replica::Replica& world, std::uint64_t now) override {
    serve_queries(world);
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (new_rules) {
        pipeline->set_rules(std::move(*new_rules));
        new_rules.reset();
      }
    }
    if (region.ticks() + 1 == throw_at_tick) {
      throw std::runtime_error("fault injection: WORLDLINE_FAULT_THROW_AT_TICK=" +
                               std::to_string(throw_at_tick));
    }
    region.tick(world, now);
  }

  void after_commit(const replica::Replica& world, bool durable,
                    std::optional<std::uint64_t> committed, std::uint64_t now) override {
    region.after_commit(world, durable, committed, now);
    if (durable) {  // the verdicts written before this commit are journaled now
      for (auto& [query, reply] : awaiting_commit)
        answer(query, std::move(reply));
      awaiting_commit.clear();
    }
    // NodeLoop::turn runs no tick while the replica repairs, but still commits (peers' groups).
    repairing = world.repairing();
    if (!repairing) last_tick_ms = now;
    if (now - last_metrics_ms >= 250) {
      last_metrics_ms = now;
      std::string text = metrics(world, now);
      std::lock_guard<std::mutex> lock(mutex);
      metrics_text = std::move(text);
    }
    if (dashboard_feed && now - last_dashboard_ms >= config.dashboard.interval_ms &&
        (last_dashboard_ms == 0 || server->stats().event_streams > 0 ||
         now - dashboard_wanted_ms.load() < kDashboardWantedMs)) {
      last_dashboard_ms = now;
      const DashboardContext ctx{config.region_name, config.tick_hz, &node_stats.loop,
                                 server->stats()};
      const auto started = std::chrono::steady_clock::now();
      std::string frame = dashboard_frames.frame(world, region, ctx, now);
      dashboard_frame_ms.record(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
              .count());
      dashboard_feed->publish(std::move(frame));
    }
    if (run.status_interval_ms && now - last_status_ms >= run.status_interval_ms) status(now);
    if (run.figures) figures(world, now, *run.figures);
  }

  void figures(const replica::Replica& world, std::uint64_t now, NodeFigures& f) {
    const auto& ps = pipeline->stats();
    f.ticks = ps.ticks;
    f.late = node_stats.loop.late;
    f.skipped = node_stats.loop.skipped;
    f.processed = ps.processed;
    f.forwarded = ps.forwarded;
    const auto hs = host->stats();
    f.sessions = hs.sessions;
    f.rejected = hs.rejected;
    std::uint64_t lag = 0;
    for (const auto& [id, peer] : world.stats(now).peers)
      lag = std::max(lag, peer.lag_ms);
    f.max_lag_ms = lag;
    f.entries = world.store().entries().size();
    if (const auto* d = region.director()) f.events_started = d->stats().started;
    f.events_spawned = region.events_spawned();
    if (f.want_digest.exchange(false)) {
      std::vector<std::uint64_t> flagged;
      for (const auto& [key, value] : world.store().entries()) {
        if (key.component == region::anticheat::kFlagsComponent) flagged.push_back(key.entity);
      }
      std::sort(flagged.begin(), flagged.end());
      {
        std::lock_guard<std::mutex> lock(f.flagged_mutex);
        f.flagged = std::move(flagged);
      }
      f.digest = world.store().digest();
      ++f.digest_seq;
    }
  }

  void status(std::uint64_t now) {
    const auto& ps = pipeline->stats();
    const auto hs = host->stats();
    const auto ss = server->stats();
    const double secs = last_status_ms ? static_cast<double>(now - last_status_ms) / 1000 : 1;
    const double rate = static_cast<double>(ps.processed - last_status_processed) / secs;
    last_status_ms = now;
    last_status_processed = ps.processed;
    spdlog::info(
        "region {}: players={} actions/s={:.0f} ack_p95<={}ms ticks={} late={} skipped={} "
        "overruns={} cells={} rejected={} slow_consumers={}",
        config.region_name, hs.sessions, rate, hs.ack_ms.quantile_bound(0.95), ps.ticks,
        node_stats.loop.late, node_stats.loop.skipped, ps.overruns,
        pipeline->partition().leaves().size(), hs.rejected, ss.slow_consumers);
  }

  std::string metrics(const replica::Replica& world, std::uint64_t now) {
    return node_metrics(NodeMetricsSources{config.region_name, region, world, node_stats,
                                           server->stats(), config.flag_response, verdicts,
                                           dashboard_feed ? &dashboard_frame_ms : nullptr},
                        now);
  }
};

}  // namespace

int run_region_node(const RegionNodeConfig& config, const RegionNodeRun& run) {
  const auto registry = replica::ComponentRegistry::game_defaults();
  replica::ReplicaNodeConfig rc = config.replica;
  rc.tick_ms = static_cast<std::uint64_t>(std::lround(1000.0 / config.tick_hz));
  RegionNode node(config, run);
  if (node.throw_at_tick) {
    spdlog::warn("region {}: fault injection: tick {} will throw (WORLDLINE_FAULT_THROW_AT_TICK)",
                 config.region_name, node.throw_at_tick);
  }
  replica::RunOptions options;
  options.status_interval_ms = 0;  // the region's status line says more; the replica's is noise
  options.stop = run.stop;
  options.stats_out = &node.node_stats;
  replica::ReplicaNode replica_node(rc, registry);
  const int code = replica_node.run(node, options);
  node.refuse_queries_at_stop();
  if (node.server) node.server->stop();
  spdlog::info("region {}: stopped", config.region_name);
  return code;
}

}  // namespace worldline::app
