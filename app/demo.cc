#include "app/demo.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <ostream>
#include <random>
#include <thread>

#include "app/region_node.h"
#include "loadgen/loadgen.h"

namespace worldline::app {
namespace {

const char* const kRegions[] = {"eu-west", "us-east", "ap-south"};
const char* const kTokenSecret = "worldline demo token secret";

std::string node_toml(int id, int base, const std::string& dir) {
  std::string t = "[replica]\nid = " + std::to_string(id) +
                  "\nlisten = \"127.0.0.1:" + std::to_string(base + id) + "\"\ndata_dir = \"" +
                  dir + "/" + kRegions[id - 1] +
                  "\"\nsecret = \"worldline demo cluster secret\"\ngossip_interval_ms = 50\n";
  for (int p = 1; p <= 3; ++p) {
    if (p == id) continue;
    t += "[[replica.peers]]\nid = " + std::to_string(p) +
         "\naddress = \"127.0.0.1:" + std::to_string(base + p) + "\"\n";
  }
  t += std::string("[region]\nname = \"") + kRegions[id - 1] +
       "\"\ntick_hz = 20\nworkers = 1\nspawn_radius = 400\ninterest_radius = 40\n"
       "attack_range = 6\nghost_margin = 8\n"
       // The same 400 items in every region, over the players' disc: a few in each one's sight.
       "items = 400\nitem_area = [-400, -400, 400, 400]\npickup_range = 5\n"
       "[gateway]\nlisten = \"127.0.0.1:" +
       std::to_string(base + 10 + id) + "\"\ntoken_secret = \"" + kTokenSecret + "\"\n" +
       // The operators' port: /metrics, /admin/… and the live dashboard.
       "admin_listen = \"127.0.0.1:" + std::to_string(base + 20 + id) + "\"\n" +
       "[director]\nevents = \"" + dir + "/events.toml\"\n";
  return t;
}

// The world events every region deploys (docs/world-events.md): a market every 10 s at the
// centre, and a camp when 3 of a region's players hold the inner disc for 2 s (with the default
// 1 500 players, about 30 stand there on each region).
const char* const kEvents = R"([[event]]
id = "market"
trigger = { kind = "schedule", every_s = 10 }
area = { x = 0, z = 0, radius = 150 }
rewards = { gold = 50 }

[[event.tiers]]
npc_count = { base = 2, per_player = 0.2, floor = 2, cap = 20 }
objective = { base = 2, per_player = 0.2, floor = 2, cap = 20 }
duration_s = { base = 5, floor = 5, cap = 5 }

[[event]]
id = "camp"
trigger = { kind = "density", players = 3, for_s = 2 }
area = { x = 0, z = 0, radius = 100 }
cooldown_s = 5

[[event.tiers]]
npc_count = { base = 3, per_player = 0.5, floor = 3, cap = 30 }
objective = { base = 3, per_player = 0.5, floor = 3, cap = 30 }
duration_s = { base = 4, floor = 4, cap = 4 }
)";

std::string percent(std::uint64_t part, std::uint64_t whole) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f%%", whole ? 100.0 * static_cast<double>(part) / whole : 100.0);
  return b;
}

}  // namespace

int run_demo(std::ostream& out, const DemoOptions& o) {
  out << "worldline demo: three region nodes (eu-west, us-east, ap-south) on loopback, each a\n"
         "gateway (WebSockets) + region (20 Hz tick) + replica (LMDB + delta gossip over Cap'n\n"
         "Proto RPC). "
      << o.players << " simulated players connect over real WebSockets, spread across the\n"
      << "three regions, and play '" << o.scenario
      << "': they wander, fight whoever they see — players of the\n"
         "other regions too, replicated — and now and then rush for an item lying in sight,\n"
         "the same one as the players around them (one winner, the others are told). Then the\n"
         "load stops and the three regions must converge.\n\n";
  char tmpl[] = "/tmp/worldline-demo.XXXXXX";
  if (!mkdtemp(tmpl)) {
    out << "cannot create a temporary directory\n";
    return 1;
  }
  const std::string dir = tmpl;
  std::ofstream(dir + "/events.toml") << kEvents;
  std::mt19937 rng(std::random_device{}());
  // Below Linux's ephemeral ports (32768+), where an outgoing connection may already hold one.
  const int base = 10000 + static_cast<int>(rng() % 900) * 10;

  NodeFigures figures[3];
  std::atomic<bool> stop{false};
  std::vector<std::thread> nodes;
  std::vector<std::promise<std::uint16_t>> listening(3);
  std::vector<RegionNodeRun> runs(3);
  std::vector<RegionNodeConfig> configs;
  for (int id = 1; id <= 3; ++id) {
    auto c = parse_region_node_config(node_toml(id, base, dir), kRegions[id - 1]);
    if (!c) {
      out << c.error().message << "\n";
      return 1;
    }
    configs.push_back(std::move(c).value());
  }
  for (int i = 0; i < 3; ++i) {
    runs[static_cast<std::size_t>(i)].status_interval_ms = 0;
    runs[static_cast<std::size_t>(i)].stop = &stop;
    runs[static_cast<std::size_t>(i)].figures = &figures[i];
    runs[static_cast<std::size_t>(i)].on_listening = [&listening, i](std::uint16_t port) {
      listening[static_cast<std::size_t>(i)].set_value(port);
    };
  }
  for (int i = 0; i < 3; ++i) {
    nodes.emplace_back([&, i] {
      run_region_node(configs[static_cast<std::size_t>(i)], runs[static_cast<std::size_t>(i)]);
    });
  }
  auto stop_all = [&] {
    spdlog::set_level(spdlog::level::err);  // links closing as the nodes stop are expected
    stop = true;
    for (auto& t : nodes)
      t.join();
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  };
  std::vector<std::string> targets;
  for (int i = 0; i < 3; ++i) {
    auto f = listening[static_cast<std::size_t>(i)].get_future();
    if (f.wait_for(std::chrono::seconds(15)) != std::future_status::ready) {
      out << "region " << kRegions[i] << " did not start (see the log above)\n";
      stop_all();
      return 1;
    }
    const auto port = f.get();
    targets.push_back("127.0.0.1:" + std::to_string(port));
    out << "region " << kRegions[i] << ": clients on ws://" << targets.back()
        << "/, replica RPC on 127.0.0.1:" << base + i + 1 << ", data in " << dir << "/"
        << kRegions[i] << "\n"
        << "  live dashboard: http://127.0.0.1:" << base + 20 + i + 1 << "/dashboard/\n";
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // peers log in to each other

  loadgen::Options lo;
  lo.targets = targets;
  lo.players = o.players;
  lo.actions_per_player_s = o.actions_per_player_s;
  lo.seconds = o.seconds;
  lo.scenario = o.scenario;
  lo.format = o.protocol == "capnp" ? gateway::WireFormat::kCapnp : gateway::WireFormat::kJson;
  lo.key = {gateway::TokenKey::Kind::kHs256, kTokenSecret};
  lo.connects_per_s = 1500;
  lo.attack_range = 6;  // node_toml's
  if (auto groups = loadgen::parse_population(o.cheaters, true); !groups) {
    out << "--cheaters: " << groups.error().message << "\n";
    stop_all();
    return 2;
  } else {
    lo.population = groups.value();
  }
  std::uint64_t labelled = 0;
  for (const auto& g : lo.population)
    labelled += g.count;
  labelled = std::min(labelled, o.players);
  if (labelled > 0) {
    out << "labelled cheaters among them (the cheat detection is not told):\n"
        << loadgen::labels(lo.population, lo.first_player);
  }
  std::uint64_t last_acked = 0;
  auto progress = [&](const loadgen::Report& r, std::uint64_t elapsed_ms) {
    std::uint64_t ticks = 0, late = 0, skipped = 0, lag = 0, sessions = 0;
    for (const auto& f : figures) {
      ticks += f.ticks;
      late += f.late;
      skipped += f.skipped;
      sessions += f.sessions;
      lag = std::max<std::uint64_t>(lag, f.max_lag_ms);
    }
    char line[320];
    std::snprintf(line, sizeof line,
                  "[%5.1fs] players %llu online | actions/s %6.0f | ack p95 <= %3.0f ms | "
                  "ticks on time %s | replication lag <= %llu ms | rejects %llu\n",
                  static_cast<double>(elapsed_ms) / 1000.0,
                  static_cast<unsigned long long>(sessions),
                  static_cast<double>(r.acked - last_acked), r.ack_ms.quantile_bound(0.95),
                  percent(ticks - late, ticks + skipped).c_str(),
                  static_cast<unsigned long long>(lag), static_cast<unsigned long long>(r.rejects));
    last_acked = r.acked;
    out << line << std::flush;
  };
  out << "\nconnecting " << o.players << " players...\n";
  const loadgen::Report report = loadgen::run(lo, out, nullptr, progress);

  out << "\nload stopped. Waiting for the regions to converge...\n";
  bool converged = false;
  std::uint64_t digests[3] = {0, 0, 0};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    std::uint64_t seq_before[3];
    for (int i = 0; i < 3; ++i) {
      seq_before[i] = figures[i].digest_seq;
      figures[i].want_digest = true;
    }
    for (int i = 0; i < 3; ++i) {
      while (figures[i].digest_seq == seq_before[i] && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      digests[i] = figures[i].digest;
    }
    if (digests[0] == digests[1] && digests[1] == digests[2]) {
      converged = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }

  out << "\n== report ==\n" << report.summary() << "\n";
  for (int i = 0; i < 3; ++i) {
    const auto& f = figures[i];
    char line[256];
    std::snprintf(line, sizeof line,
                  "region %-8s ticks %llu (on time %s), actions processed %llu, %llu across "
                  "cells, rejects sent %llu, state entries %llu, digest %016llx\n",
                  kRegions[i], static_cast<unsigned long long>(f.ticks.load()),
                  percent(f.ticks - f.late, f.ticks + f.skipped).c_str(),
                  static_cast<unsigned long long>(f.processed.load()),
                  static_cast<unsigned long long>(f.forwarded.load()),
                  static_cast<unsigned long long>(f.rejected.load()),
                  static_cast<unsigned long long>(f.entries.load()),
                  static_cast<unsigned long long>(digests[i]));
    out << line;
  }
  out << "world events (docs/world-events.md):";
  for (int i = 0; i < 3; ++i) {
    out << (i ? "," : "") << " " << kRegions[i] << " started " << figures[i].events_started
        << " (spawned " << figures[i].events_spawned << ")";
  }
  out << " — every region that starts an instance claims it; spawned counts the ended ones "
         "whose claim it held\n";
  // Flags are replicated: every region holds them all; the first region's list is the world's.
  std::vector<std::uint64_t> flagged;
  {
    std::lock_guard<std::mutex> lock(figures[0].flagged_mutex);
    flagged = figures[0].flagged;
  }
  std::uint64_t cheaters_flagged = 0, honest_flagged = 0;
  for (std::uint64_t p : flagged) {
    if (p >= lo.first_player && p < lo.first_player + labelled) {
      ++cheaters_flagged;
    } else {
      ++honest_flagged;
    }
  }
  out << "cheat detection: " << cheaters_flagged << " of " << labelled
      << " labelled cheaters flagged, " << honest_flagged << " of " << o.players - labelled
      << " honest players flagged (flags with their evidence: GET /admin/flags on a node)\n";
  stop_all();
  if (!converged) {
    out << "NOT CONVERGED within 10 s after the load stopped\n";
    return 1;
  }
  if (report.connected == 0 || report.acked == 0) {
    out << "no player got an action acknowledged\n";
    return 1;
  }
  out << "CONVERGED: the three regions hold identical state (same digest) — every player, "
         "every hit, one owner per item.\n";
  return 0;
}

}  // namespace worldline::app
