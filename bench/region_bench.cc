// region_bench: the region engine alone, no network — ingress → schedule → apply → CRDT delta →
// group commit (in-memory journal), on one thread (the tick loop's workers are not built yet).
//
//   BM_Engine_MixedActions        actions/s for a mixed workload (move 50 %, attack 30 %,
//                                 chat 10 %, pickup 5 %, interact 5 %), 10 000 players
//   BM_Tick_10kPlayers_5kActions  one 20 Hz tick at 100 000 actions/s (5 000 actions), with
//                                 p50/p99 tick duration
//   BM_Partition_Balance/<dist>   max worker load / mean for uniform, clustered and single-hotspot
//                                 player distributions (2 workers)
// Rerun: bash dev.sh bench --benchmark_filter='Engine|Tick|Partition'
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <random>

#include "region/action_queue.h"
#include "region/game_rules.h"
#include "region/ingress.h"
#include "region/partitioner.h"

namespace worldline::region {
namespace {

struct NullOutbox : replica::Outbox {
  void send(replica::ReplicaId, std::string) override {}
};

struct Engine {
  replica::ComponentRegistry registry = replica::ComponentRegistry::game_defaults();
  replica::MemoryJournal journal;
  NullOutbox outbox;
  crdt::ManualClock wall{1'000'000};
  crdt::HlcClock clock{1, wall, 10'000};
  replica::Replica world{replica::ReplicaOptions{1, {1}}, registry, journal, outbox};
  GameRules rules{GameConfig{}};
  ActionQueue queue{PriorityRules::defaults()};
  Ingress ingress{IngressLimits{}, clock};
  std::mt19937_64 rng{3};
  std::map<ActorId, std::uint64_t> seq;
  std::uint64_t tick = 0;
  ActorId players;

  explicit Engine(ActorId n) : players(n) {
    std::uniform_real_distribution<double> coord(0, 300);
    for (ActorId p = 1; p <= n; ++p)
      rules.spawn(world, p, {coord(rng), 0, coord(rng)}, clock);
    (void)world.commit(0);
  }

  std::vector<std::pair<int, Action>> batch(std::size_t n) {
    std::vector<std::pair<int, Action>> out;
    std::uniform_real_distribution<double> coord(0, 300);
    for (std::size_t i = 0; i < n; ++i) {
      Action a;
      a.actor = 1 + rng() % players;
      a.client_seq = ++seq[a.actor];
      a.client_time_ms = 1'000'000;
      const auto roll = rng() % 100;
      ActionKind kind = roll < 50   ? ActionKind::kMove
                        : roll < 80 ? ActionKind::kAttack
                        : roll < 90 ? ActionKind::kChat
                        : roll < 95 ? ActionKind::kPickup
                                    : ActionKind::kInteract;
      a.position = {coord(rng), 0, coord(rng)};
      a.target = kind == ActionKind::kPickup ? 1'000'000 + rng() % 1000 : 1 + rng() % players;
      if (a.target == a.actor) a.target = a.actor % players + 1;
      a.text = "gg";
      out.emplace_back(static_cast<int>(kind), std::move(a));
    }
    return out;
  }

  std::size_t run_tick(std::vector<std::pair<int, Action>>& actions) {
    ++tick;
    wall.advance(50);
    for (auto& [kind, a] : actions) {
      if (!ingress.admit(kind, a, wall.now_ms())) queue.push(std::move(a), tick);
    }
    CellWorld cell(world.store(), world.id());
    HandlerContext ctx{cell, clock, tick};
    std::size_t n = 0;
    for (const Action& a : queue.take(tick)) {
      rules.apply(a, ctx);
      ++n;
    }
    cell.flush_into(world);
    (void)world.commit(tick);
    return n;
  }
};

void BM_Engine_MixedActions(benchmark::State& state) {
  Engine e(10'000);
  std::size_t processed = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto actions = e.batch(20'000);
    state.ResumeTiming();
    processed += e.run_tick(actions);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(processed));
}

void BM_Tick_10kPlayers_5kActions(benchmark::State& state) {
  Engine e(10'000);
  std::vector<double> ms;
  for (auto _ : state) {
    state.PauseTiming();
    auto actions = e.batch(5'000);
    state.ResumeTiming();
    const auto t0 = std::chrono::steady_clock::now();
    e.run_tick(actions);
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  state.counters["p50_ms"] = ms[ms.size() / 2];
  state.counters["p99_ms"] = ms[static_cast<std::size_t>(0.99 * (ms.size() - 1))];
  state.counters["period_ms"] = 50;
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * 5'000));
}

void BM_Partition_Balance(benchmark::State& state) {
  const int dist = static_cast<int>(state.range(0));
  std::mt19937_64 rng(9);
  std::uniform_real_distribution<double> world(-10'000, 10'000), unit(0, 1);
  std::normal_distribution<double> cluster(0, 400);
  std::vector<std::pair<double, double>> pts(10'000);
  const std::pair<double, double> centers[] = {
      {-5000, -5000}, {3000, 2000}, {6000, -7000}, {-2000, 8000}};
  for (auto& p : pts) {
    if (dist == 0) {
      p = {world(rng), world(rng)};
    } else if (dist == 1) {
      const auto& c = centers[rng() % 4];
      p = {c.first + cluster(rng), c.second + cluster(rng)};
    } else {
      p = {1000 + unit(rng) * 20, 1000 + unit(rng) * 20};  // everyone within 20 units
    }
  }
  PartitionOptions o;
  o.split_load = 500;
  o.merge_load = 100;
  o.workers = 2;
  double balance = 0;
  for (auto _ : state) {
    SpatialPartitioner part(o);
    for (int round = 0; round < 20; ++round) {
      std::map<CellId, std::uint64_t> load;
      for (CellId c : part.leaves())
        load[c] = 0;
      for (const auto& [x, z] : pts)
        ++load[part.cell_of(x, z)];
      for (const auto& [c, l] : load)
        part.set_load(c, l);
      balance = part.rebalance().balance;
    }
  }
  state.counters["balance"] = balance;
  state.SetLabel(dist == 0 ? "uniform" : dist == 1 ? "clustered" : "single-hotspot");
}

BENCHMARK(BM_Engine_MixedActions)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Tick_10kPlayers_5kActions)->Unit(benchmark::kMillisecond)->Iterations(200);
BENCHMARK(BM_Partition_Balance)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace worldline::region

BENCHMARK_MAIN();
