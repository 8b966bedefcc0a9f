// replica_bench: replicas as they run in production — ReplicaNode with its LMDB journal, talking
// Cap'n Proto RPC over real loopback sockets — each node on its own thread and event loop.
//
//   BM_TwoReplicas_Throughput/ids        deltas/s from A into B: OR-set adds, A writing as fast
//   BM_TwoReplicas_Throughput/positions  as its tick allows; B counts what it has joined
//   BM_ThreeRegions_Visibility50ms       three regions with 50 ms added to every message, 50 ms
//                                        gossip: write → visible on the other two, p50/p99/max
// Counters: wire_B_per_update (bytes A sent B / updates), delta_B (one update's delta encoded
// alone), raw_B (the update's payload: an 8-byte id + its 12-byte dot, or a 24-byte Vec3 + its
// 16-byte HLC stamp), full_state_B_per_update (the final state's size / updates). What the
// throughput runs cost and how chatty they were: cpu_A_ms (the writer's thread CPU from its first
// commit until B holds everything), cpu_B_ms (B's thread CPU until then), and over the whole run
// state_diffs and digest_requests (A → B), refused_intervals (at B), sends_dropped (A's
// back-pressure and no-session drops), silent_cuts (A's links dropped as silent), late_ticks_A/B.
// wire_B_per_update near the one-copy figure (~58 B positions, ~25 B ids) means no interval was
// sent twice.
//
// Rerun: bash dev.sh bench --benchmark_filter=Replica   (or build/bench/bench/replica_bench)
// Latency uses an in-process delay on every outgoing message (ReplicaNodeConfig::link_delay_ms);
// tc netem in a network namespace would add the same delay in the kernel instead.
#include <benchmark/benchmark.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <ctime>
#include <filesystem>
#include <map>
#include <random>
#include <thread>
#include <vector>

#include "crdt/codec.h"
#include "replica/replica.h"
#include "replica/rpc_node.h"

namespace worldline::replica {
namespace {

namespace fs = std::filesystem;

// The calling thread's CPU time.
double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

struct Cluster {
  ComponentRegistry registry = ComponentRegistry::game_defaults();
  fs::path dir;
  std::vector<ReplicaNodeConfig> configs;
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;

  Cluster(int n, std::uint64_t link_delay_ms, std::uint64_t gossip_ms) {
    std::random_device rd;
    dir = fs::temp_directory_path() / ("worldline-bench-" + std::to_string(rd()));
    const int base = 30000 + static_cast<int>(rd() % 3000) * 10;
    for (int i = 1; i <= n; ++i) {
      ReplicaNodeConfig c;
      c.id = static_cast<ReplicaId>(i);
      c.listen = "127.0.0.1:" + std::to_string(base + i);
      c.data_dir = (dir / ("d" + std::to_string(i))).string();
      c.secret = "bench-secret-0123";
      c.tick_ms = 10;
      c.gossip_interval_ms = gossip_ms;
      c.snapshot_every_groups = 1'000'000;
      c.link_delay_ms = link_delay_ms;
      for (int j = 1; j <= n; ++j) {
        if (j != i)
          c.peers.push_back({static_cast<ReplicaId>(j), "127.0.0.1:" + std::to_string(base + j)});
      }
      configs.push_back(c);
    }
    fs::create_directories(dir);
  }
  void start(int i, RunOptions options) {
    options.stop = &stop;
    options.status_interval_ms = 0;
    threads.emplace_back([this, i, options] {
      ReplicaNode node(configs[i], registry);
      node.run(options);
    });
  }
  ~Cluster() {
    stop = true;
    for (auto& t : threads)
      t.join();
    fs::remove_all(dir);
  }
};

void throughput(benchmark::State& state, WriteLoad::Kind kind) {
  spdlog::set_level(spdlog::level::warn);
  const std::uint64_t n = 200'000;
  for (auto _ : state) {
    // The nodes' threads write these: they are declared before the cluster, whose destructor
    // joins those threads, so they outlive every write.
    std::atomic<std::uint64_t> t_start{0}, t_done{0}, bytes_to_b{0}, state_bytes{0};
    std::atomic<double> cpu_a_start{0}, cpu_a{0}, cpu_b{0};
    std::atomic<std::uint64_t> diffs_sent{0}, digest_requests{0}, refused{0};
    NodeStats stats_a, stats_b;  // written on the nodes' threads, read after they are joined
    RunOptions a;
    a.stats_out = &stats_a;
    a.load.kind = kind;
    a.load.rate_per_s = 100'000'000;  // as fast as the tick allows: 1M writes per 10 ms tick
    a.load.count = n;
    a.load.entities = n;
    a.on_tick = [&](const Replica& r, std::uint64_t now) {
      if (r.next_seq() > 1 && t_start == 0) {
        cpu_a_start = thread_cpu_ms();
        t_start = now;
      }
      if (t_start && !t_done) cpu_a = thread_cpu_ms() - cpu_a_start;
      const PeerStats p = r.stats(now).peers.at(2);
      bytes_to_b = p.bytes_sent;
      diffs_sent = p.full_states_sent;
      digest_requests = p.digest_requests_sent;
    };
    RunOptions b;
    b.stats_out = &stats_b;
    b.on_tick = [&](const Replica& r, std::uint64_t now) {
      if (t_done) return;
      refused = r.stats(now).peers.at(1).refused_intervals;
      bool done = false;
      if (kind == WriteLoad::Kind::kIds) {
        const auto* v = r.store().get(Key{1, 8});
        done = v && replica::value_as<crdt::GuildMembers>(*v).size() == n;
      } else {
        const auto* v = r.store().get(Key{1'000'000 + (n - 1), 1});
        done = v && std::get<crdt::Position>(*v).value().y == static_cast<double>(n - 1);
      }
      if (done) {
        cpu_b = thread_cpu_ms();
        std::uint64_t total = 0;
        for (const auto& [k, val] : r.store().entries())
          total += encode_value(val).size();
        state_bytes = total;
        t_done = now;  // last: the main thread reads the counters once this is set
      }
    };
    {
      Cluster cluster(2, 0, 10);
      cluster.start(1, b);
      cluster.start(0, a);
      while (!t_done)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }  // joins the nodes' threads: their stats are final
    state.SetIterationTime(static_cast<double>(t_done - t_start) / 1000.0);
    state.counters["cpu_A_ms"] = cpu_a.load();
    state.counters["cpu_B_ms"] = cpu_b.load();
    state.counters["state_diffs"] = static_cast<double>(diffs_sent);
    state.counters["digest_requests"] = static_cast<double>(digest_requests);
    state.counters["refused_intervals"] = static_cast<double>(refused);
    state.counters["sends_dropped"] = static_cast<double>(stats_a.sends_dropped);
    state.counters["silent_cuts"] = static_cast<double>(stats_a.silent_links_dropped);
    state.counters["late_ticks_A"] = static_cast<double>(stats_a.loop.late);
    state.counters["late_ticks_B"] = static_cast<double>(stats_b.loop.late);
    state.counters["wire_B_per_update"] = static_cast<double>(bytes_to_b) / n;
    state.counters["full_state_B_per_update"] = static_cast<double>(state_bytes) / n;
  }
  if (kind == WriteLoad::Kind::kIds) {
    crdt::GuildMembers s;
    state.counters["delta_B"] = static_cast<double>(crdt::encode(s.add(1, 1'000'000'123)).size());
    state.counters["raw_B"] = 8 + 12;
  } else {
    crdt::Position p;
    state.counters["delta_B"] = static_cast<double>(
        crdt::encode(p.assign(crdt::Vec3{1.5, 2.5, 0}, crdt::Hlc{1'700'000'000'000, 1, 1})).size());
    state.counters["raw_B"] = 24 + 16;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}

void BM_TwoReplicas_Throughput_Ids(benchmark::State& s) {
  throughput(s, WriteLoad::Kind::kIds);
}
void BM_TwoReplicas_Throughput_Positions(benchmark::State& s) {
  throughput(s, WriteLoad::Kind::kPositions);
}

void BM_ThreeRegions_Visibility50ms(benchmark::State& state) {
  spdlog::set_level(spdlog::level::warn);
  std::vector<double> samples;
  for (auto _ : state) {
    const std::uint64_t entities = 500, writes = 2000;
    std::mutex mu;
    std::vector<double> seen;  // GUARDED_BY(mu)
    std::atomic<int> finished{0};
    // Runs on a node's thread; everything it touches is declared before the cluster (below),
    // whose destructor joins the threads.
    auto observer = [&seen, &mu, &finished, entities,
                     writes](std::map<std::uint64_t, double>* last) {
      return [last, &seen, &mu, &finished, entities, writes](const Replica& r, std::uint64_t now) {
        std::vector<double> local;
        for (std::uint64_t e = 0; e < entities; ++e) {
          const auto* v = r.store().get(Key{1'000'000 + e, 1});
          if (!v) continue;
          const auto& pos = std::get<crdt::Position>(*v).value();
          double& prev = (*last)[e];
          if (pos.y + 1 > prev) {  // a write not seen before (y = write number)
            prev = pos.y + 1;
            local.push_back(static_cast<double>(now) - pos.x);
            if (pos.y == writes - 1) ++finished;
          }
        }
        std::lock_guard<std::mutex> lock(mu);
        seen.insert(seen.end(), local.begin(), local.end());
      };
    };
    std::map<std::uint64_t, double> last_b, last_c;
    RunOptions a;
    a.load.kind = WriteLoad::Kind::kPositions;
    a.load.rate_per_s = 500;
    a.load.count = writes;
    a.load.entities = entities;
    RunOptions b, c;
    b.on_tick = observer(&last_b);
    c.on_tick = observer(&last_c);
    Cluster cluster(3, 50, 50);
    cluster.start(1, b);
    cluster.start(2, c);
    cluster.start(0, a);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (finished < 2 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::lock_guard<std::mutex> lock(mu);
    samples = seen;
  }
  std::sort(samples.begin(), samples.end());
  auto pct = [&](double p) {
    return samples.empty() ? 0.0 : samples[static_cast<std::size_t>(p * (samples.size() - 1))];
  };
  state.counters["p50_ms"] = pct(0.50);
  state.counters["p99_ms"] = pct(0.99);
  state.counters["max_ms"] = samples.empty() ? 0 : samples.back();
  state.counters["target_ms"] = 50 + 2 * 50;
  state.counters["samples"] = static_cast<double>(samples.size());
}

BENCHMARK(BM_TwoReplicas_Throughput_Ids)
    ->UseManualTime()
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TwoReplicas_Throughput_Positions)
    ->UseManualTime()
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ThreeRegions_Visibility50ms)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace worldline::replica

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  std::printf(
      "replica_bench — rerun with: bash dev.sh bench --benchmark_filter='Replica|Regions'\n");
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
