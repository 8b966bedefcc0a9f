// region_bench: the region engine alone, no network — ingress → schedule → apply → CRDT delta →
// group commit (every delta encoded for the journal, which discards it), through RegionPipeline on
// 1 and 2 worker threads.
//
//   BM_Engine_MixedActions        actions/s for a mixed workload (move 50 %, attack 30 %,
//                                 chat 10 %, pickup 5 %, interact 5 %), 10 000 players, 20 000
//                                 actions a tick, in steady state (after the ticks in which the
//                                 tree adapts to the load, warmup_ticks); the CPU an action costs
//                                 (all threads), each phase's share of the tick, and splits and
//                                 merges in the measured ticks (0 in steady state)
//   BM_Tick_10kPlayers_5kActions  one 20 Hz tick at 100 000 actions/s (5 000 actions), with
//                                 p50/p99 tick duration in steady state: after 200 ticks of the
//                                 same load, in which the tree adapts to it (splits cells that the
//                                 actions make hot) — those ticks are reported apart (adapt_*)
//   BM_TickWorkers_EmptyPhase     what an empty parallel section costs after a gap of work on
//                                 the calling thread, workers spinning (250 µs) or not (0)
//   BM_Partition_Balance/<dist>   max worker load / mean for uniform, clustered and single-hotspot
//                                 player distributions (2 workers)
//   BM_Memory_100kEntities        resident memory per entity in steady state: 100 000 entities
//                                 (position and health each), placed in the partition, the
//                                 10 000 players among them acting for 40 ticks
// Rerun: bash dev.sh bench --benchmark_filter='Engine|Tick|Partition|Memory'
#include <benchmark/benchmark.h>

#include <time.h>
#include <unistd.h>
#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#if WORLDLINE_MIMALLOC
#include <mimalloc.h>
#else
#include <malloc.h>
#endif

#include "region/pipeline.h"
#include "tests/support/outboxes.h"

namespace worldline::region {
namespace {

using testing::NullOutbox;

// A node's journal is on disk (LMDB): its write is the replica's cost, not the engine's. The group
// is still encoded for it in commit(). (MemoryJournal would keep every record, ~17 000 entries a
// tick in the mixed workload; until 2026-11-27 the engine benchmarks used it — three interleaved
// pairs of runs showed no difference in speed.)
class DiscardingJournal final : public replica::Journal {
 public:
  crdt::Result<bool> append(const replica::JournalRecord&) override { return true; }
};

struct Engine {
  replica::ComponentRegistry registry = replica::ComponentRegistry::game_defaults();
  DiscardingJournal journal;
  NullOutbox outbox;
  crdt::ManualClock wall{1'000'000};
  crdt::HlcClock clock{1, wall, 10'000};
  // No peers: each group is dropped once committed — the work a node does when its peers have
  // acknowledged it. (Until 2026-11-27 the replica named itself as a peer that never acknowledged,
  // so groups piled up in the buffer and were never dropped; interleaved runs show no difference
  // in speed.)
  replica::Replica world{replica::ReplicaOptions{1, {}}, registry, journal, outbox};
  GameRules rules{game()};
  std::unique_ptr<RegionPipeline> pipeline;
  std::mt19937_64 rng{3};
  std::map<ActorId, std::uint64_t> seq;
  std::uint64_t tick = 0;
  ActorId players;

  static GameConfig game() {
    GameConfig g;
    g.attack_range = 500;            // every attack lands, most on a target in another cell
    g.spawn_health = 1'000'000'000;  // and nobody dies during the run
    // Pickups aim at the 1 000 items scattered among the players, every one in reach: each is a
    // claim (granted once, then refused as already claimed), resolved in the item's cell.
    // (Until 2026-12-06 the items did not exist as entities and no range was checked.)
    g.pickup_range = 500;
    g.items.count = 1000;
    g.items.first_id = 1'000'000;
    g.items.min_x = g.items.min_z = 0;
    g.items.max_x = g.items.max_z = 300;
    // Every move aims at a random point of the square, so every move is clamped. Since the
    // movement budget (2026-12-06) a player who has not moved for a while may go up to
    // move_max_step_ticks ticks' worth in one move; at 3 that tripled the distance per move and
    // with it the hand-overs (7 600 -> 9 500 a tick), a heavier workload rather than a slower
    // engine. One tick's worth keeps the workload what it was before the budget: 10 units a move.
    g.move_max_step_ticks = 1;
    return g;
  }

  Engine(ActorId n, int workers) : players(n) {
    std::uniform_real_distribution<double> coord(0, 300);
    for (ActorId p = 1; p <= n; ++p)
      rules.spawn(world, p, {coord(rng), 0, coord(rng)}, clock);
    place_items(world, rules.config().items);
    (void)world.commit(0);
    PipelineOptions o;
    o.partition.workers = workers;
    o.partition.split_load = 2000;
    o.partition.merge_load = 500;
    pipeline = std::make_unique<RegionPipeline>(o, PriorityRules::defaults(), rules, world, clock);
    std::vector<Submission> warmup = batch(1);
    run_tick(warmup);
    for (int i = 0; i < 10; ++i) {  // let the tree settle around the players
      std::vector<Submission> none;
      run_tick(none);
    }
  }

  std::vector<Submission> batch(std::size_t n) {
    std::vector<Submission> out;
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
      out.push_back(Submission{static_cast<int>(kind), std::move(a)});
    }
    return out;
  }

  // Ingress → schedule → apply (on the workers) → deltas → group commit.
  std::size_t run_tick(std::vector<Submission>& actions) {
    using Clock = std::chrono::steady_clock;
    ++tick;
    wall.advance(50);
    const auto t0 = Clock::now();
    (void)pipeline->submit_all(actions, wall.now_ms());
    const auto t1 = Clock::now();
    const std::size_t n = pipeline->tick(tick).size();
    const auto t2 = Clock::now();
    (void)world.commit(tick);
    submit_ms += std::chrono::duration<double, std::milli>(t1 - t0).count();
    commit_ms += std::chrono::duration<double, std::milli>(Clock::now() - t2).count();
    return n;
  }
  double submit_ms = 0, commit_ms = 0;  // summed over run_tick calls
};

// CPU time of the whole process (every thread), in seconds.
double process_cpu_s() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

// Where the measured ticks' time went, per tick in ms: the pipeline's phases and the bench's own
// submit and commit steps.
struct PhaseSums {
  TickPhases sum;
  void add(const TickPhases& p) {
    sum.own_actions_ms += p.own_actions_ms;
    sum.forwarded_ms += p.forwarded_ms;
    sum.flush_ms += p.flush_ms;
    sum.place_ms += p.place_ms;
    sum.rebalance_ms += p.rebalance_ms;
  }
  // REQUIRES: e.submit_ms and e.commit_ms were zeroed before the measured ticks.
  void report(benchmark::State& state, const Engine& e) const {
    const double n =
        static_cast<double>(std::max<benchmark::IterationCount>(1, state.iterations()));
    state.counters["submit_ms"] = e.submit_ms / n;
    state.counters["commit_ms"] = e.commit_ms / n;
    state.counters["own_ms"] = sum.own_actions_ms / n;
    state.counters["fwd_ms"] = sum.forwarded_ms / n;
    state.counters["flush_ms"] = sum.flush_ms / n;
    state.counters["place_ms"] = sum.place_ms / n;
    state.counters["rebal_ms"] = sum.rebalance_ms / n;
  }
};

void BM_Engine_MixedActions(benchmark::State& state) {
  Engine e(10'000, static_cast<int>(state.range(0)));
  // Steady state, as in the tick benchmark: the tree first adapts to the load (splits the cells
  // it makes hot) — until 20 ticks in a row leave it as it is, at most 300 ticks.
  int warmup = 0;
  for (int calm = 0; calm < 20 && warmup < 300; ++warmup) {
    auto actions = e.batch(20'000);
    const std::uint64_t regrids = e.pipeline->stats().regrids;
    e.run_tick(actions);
    calm = e.pipeline->stats().regrids == regrids ? calm + 1 : 0;
  }
  state.counters["warmup_ticks"] = warmup;
  e.submit_ms = e.commit_ms = 0;
  const PipelineStats before = e.pipeline->stats();
  std::size_t processed = 0;
  PhaseSums sum;
  double cpu_s = 0;  // of every thread of the process, in the ticks
  for (auto _ : state) {
    state.PauseTiming();
    auto actions = e.batch(20'000);
    state.ResumeTiming();
    const double cpu_before = process_cpu_s();
    processed += e.run_tick(actions);
    cpu_s += process_cpu_s() - cpu_before;
    sum.add(e.pipeline->stats().last_phases);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(processed));
  sum.report(state, e);
  // What an action costs in CPU, whichever thread ran it: two cores can do at most 2 / this per
  // second, however well the work is spread.
  state.counters["cpu_us_per_action"] =
      1e6 * cpu_s / static_cast<double>(std::max<std::size_t>(1, processed));
  state.counters["cells"] = static_cast<double>(e.pipeline->partition().leaves().size());
  // The tree reshaped under the load in the measured ticks (each split or merge re-places the
  // entities of the cells it changes).
  const PipelineStats& after = e.pipeline->stats();
  state.counters["splits"] = static_cast<double>(after.splits - before.splits);
  state.counters["merges"] = static_cast<double>(after.merges - before.merges);
  state.counters["regrid_ticks"] = static_cast<double>(after.regrids - before.regrids);
  state.counters["balance"] = after.last_rebalance.balance;  // of the loads the partition sees
  state.counters["forwarded_pct"] =
      100.0 * static_cast<double>(e.pipeline->stats().forwarded) /
      static_cast<double>(std::max<std::uint64_t>(1, e.pipeline->stats().processed));
}

void BM_Tick_10kPlayers_5kActions(benchmark::State& state) {
  Engine e(10'000, static_cast<int>(state.range(0)));
  // One tick of 5 000 actions: its duration, and whether the tree split or merged in it.
  auto tick = [&e] {
    auto actions = e.batch(5'000);
    const std::uint64_t regrids_before = e.pipeline->stats().regrids;
    const auto t0 = std::chrono::steady_clock::now();
    e.run_tick(actions);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return std::pair{ms, e.pipeline->stats().regrids != regrids_before};
  };
  // The tree adapts to the load: cells the actions make hot split (each split re-places the
  // entities of the cells it changes, which costs that tick more).
  std::vector<double> adapt_ms;
  for (int i = 0; i < 200; ++i) {
    const auto [ms, regrid] = tick();
    if (regrid) adapt_ms.push_back(ms);
  }
  e.submit_ms = e.commit_ms = 0;
  std::vector<double> ms, regrid_ms;  // every tick's, and those of ticks that split or merged
  PhaseSums sum;
  for (auto _ : state) {
    state.PauseTiming();
    auto actions = e.batch(5'000);
    state.ResumeTiming();
    const auto t0 = std::chrono::steady_clock::now();
    const std::uint64_t regrids_before = e.pipeline->stats().regrids;
    e.run_tick(actions);
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    if (e.pipeline->stats().regrids != regrids_before) regrid_ms.push_back(ms.back());
    sum.add(e.pipeline->stats().last_phases);
  }
  auto mean = [](const std::vector<double>& v) {
    return v.empty() ? 0 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  };
  state.counters["adapt_ticks"] = static_cast<double>(adapt_ms.size());
  state.counters["adapt_tick_ms"] = mean(adapt_ms);
  state.counters["adapt_tick_max_ms"] =
      adapt_ms.empty() ? 0 : *std::max_element(adapt_ms.begin(), adapt_ms.end());
  sum.report(state, e);
  state.counters["regrids"] = static_cast<double>(regrid_ms.size());
  state.counters["regrid_tick_ms"] = mean(regrid_ms);
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

// The process's resident set, in bytes (/proc/self/statm: pages), after the allocator has handed
// back what is free (as a long-running node's would have by then).
double resident_bytes() {
#if WORLDLINE_MIMALLOC
  mi_collect(true);
#else
  malloc_trim(0);
#endif
  std::ifstream statm("/proc/self/statm");
  std::uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

void BM_Memory_100kEntities(benchmark::State& state) {
  constexpr ActorId kEntities = 100'000, kPlayers = 10'000;
  for (auto _ : state) {
    const double before = resident_bytes();
    {
      // Everything an entity costs: store entries, placement, grid slots, the pipeline's tables.
      // Spawned in batches with a commit after each, as a node does tick by tick.
      replica::ComponentRegistry registry = replica::ComponentRegistry::game_defaults();
      DiscardingJournal journal;
      NullOutbox outbox;
      crdt::ManualClock wall{1'000'000};
      crdt::HlcClock clock{1, wall, 10'000};
      // No peers: every group is dropped once committed, as in a cluster whose peers keep up.
      replica::Replica world{replica::ReplicaOptions{1, {}}, registry, journal, outbox};
      GameRules rules{GameConfig{}};
      std::mt19937_64 rng{5};
      std::uniform_real_distribution<double> coord(-5'000, 5'000);
      for (ActorId e = 1; e <= kEntities; ++e) {
        rules.spawn(world, e, {coord(rng), 0, coord(rng)}, clock);
        if (e % 5'000 == 0) (void)world.commit(e / 5'000);
      }
      PipelineOptions o;
      o.partition.workers = 2;
      RegionPipeline pipeline(o, PriorityRules::defaults(), rules, world, clock);
      std::map<ActorId, std::uint64_t> seq;
      for (std::uint64_t tick = 100; tick < 140; ++tick) {
        wall.advance(50);
        for (ActorId p = 1 + tick % 2; p <= kPlayers; p += 2) {  // each player every other tick
          Action a;
          a.actor = p;
          a.client_seq = ++seq[p];
          a.position = {coord(rng), 0, coord(rng)};
          (void)pipeline.submit(static_cast<int>(ActionKind::kMove), std::move(a), wall.now_ms());
        }
        (void)pipeline.tick(tick);
        (void)world.commit(tick);
      }
      const double after = resident_bytes();
      state.counters["bytes_per_entity"] = (after - before) / kEntities;
      // Of which, exactly: the store's open-addressing table (every slot a key and a value).
      const auto& entries = world.store().entries();
      state.counters["store_table_bytes_per_entity"] =
          static_cast<double>(entries.bucket_count() *
                              sizeof(std::pair<replica::Key, replica::ComponentValue>)) /
          kEntities;
      state.counters["store_entries"] = static_cast<double>(entries.size());
      state.counters["cells"] = static_cast<double>(pipeline.partition().leaves().size());
      state.counters["value_bytes"] = sizeof(replica::ComponentValue);
    }
  }
}

// One parallel section with nothing in it, after `gap` µs of work on the calling thread, with the
// workers spinning for up to the default (250 µs) or sleeping at once (spin 0): what a section
// boundary costs a tick. Waking a sleeping worker is what the spin saves.
void BM_TickWorkers_EmptyPhase(benchmark::State& state) {
  const auto gap = std::chrono::microseconds(state.range(0));
  TickWorkers workers(2, std::chrono::microseconds(state.range(1)));
  double us = 0;
  for (auto _ : state) {
    for (const auto until = std::chrono::steady_clock::now() + gap;
         std::chrono::steady_clock::now() < until;) {
    }
    const auto t0 = std::chrono::steady_clock::now();
    workers.run([](int) {});
    const double d =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    state.SetIterationTime(d * 1e-6);
    us += d;
  }
  state.counters["run_us"] =
      us / static_cast<double>(std::max<benchmark::IterationCount>(1, state.iterations()));
}

// Real time, not the main thread's CPU time: with two workers the main thread waits at the
// barrier while the other worker runs, and its CPU time would overstate actions per second.
BENCHMARK(BM_Engine_MixedActions)
    ->ArgName("workers")
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_Tick_10kPlayers_5kActions)
    ->ArgName("workers")
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(200)
    ->UseRealTime();
BENCHMARK(BM_TickWorkers_EmptyPhase)
    ->ArgNames({"gap_us", "spin_us"})
    ->ArgsProduct({{0, 100, 1000}, {0, 250}})
    ->Iterations(2000)
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Partition_Balance)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Memory_100kEntities)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace worldline::region

BENCHMARK_MAIN();
