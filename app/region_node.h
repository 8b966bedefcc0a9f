// A region node: gateway + region + replica in one process (`worldline node --config f.toml`).
// The replica node's thread (Cap'n Proto RPC, LMDB) runs the region tick before each group commit
// and publishes state frames to the clients after it; the gateway's I/O threads hand actions to
// the region through RegionHost's inbox. HTTP on the gateway's port: /healthz, /metrics
// (Prometheus text), /admin/rules (GET the priority rules, PUT new ones; role admin), the review
// routes /admin/flags…, the world events' /admin/events… (app/event_routes.h) and the live
// dashboard /dashboard/… (app/dashboard.h) — or, with `[gateway] admin_listen`, /metrics,
// /admin/ and /dashboard/ on that port only (/healthz on both).
// The configuration format is documented in docs/node.md.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "app/node_config.h"
#include "app/region_app.h"
#include "gateway/server.h"
#include "region/anticheat/detector.h"
#include "region/director/event_definition.h"
#include "region/pipeline.h"
#include "replica/node_config.h"
#include "replica/rpc_node.h"

namespace worldline::app {

// A node's headline figures, updated by the node's thread every tick and read from any thread
// (the demo's progress lines).
struct NodeFigures {
  std::atomic<std::uint64_t> ticks{0}, sessions{0}, processed{0}, forwarded{0};
  // Ticks whose whole turn ended after the next was due, and due times skipped (the loop fell a
  // period behind): a tick on time is neither.
  std::atomic<std::uint64_t> late{0}, skipped{0};
  std::atomic<std::uint64_t> rejected{0}, max_lag_ms{0}, entries{0};
  // World-event instances this region's director started, and those of them it spawns (its
  // spawner claim won), counted when they end.
  std::atomic<std::uint64_t> events_started{0}, events_spawned{0};
  // Ask for the state's digest: set want_digest; the node answers at its next tick by storing
  // the digest and then bumping digest_seq.
  std::atomic<bool> want_digest{false};
  std::atomic<std::uint64_t> digest{0}, digest_seq{0};
  // With the digest: the players with a cheat-detection flag kept in the world (any region's).
  std::mutex flagged_mutex;
  std::vector<std::uint64_t> flagged;  // GUARDED_BY(flagged_mutex), ascending
};

struct RegionNodeRun {
  std::uint64_t status_interval_ms = 1000;
  const std::atomic<bool>* stop = nullptr;  // stop when set (tests, the demo)
  // Called once the gateway listens, with its port (the config may say port 0).
  std::function<void(std::uint16_t port)> on_listening;
  NodeFigures* figures = nullptr;  // if set, kept up to date
};

// Runs until SIGTERM/SIGINT or run.stop: then drains the inbox in a last tick, commits and
// snapshots, publishes, and closes the gateway. Returns a process exit code.
int run_region_node(const RegionNodeConfig& config, const RegionNodeRun& run);

}  // namespace worldline::app
