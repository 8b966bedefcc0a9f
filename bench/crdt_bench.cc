// crdt_bench: mutate, join, delta-join, encode and decode for every CRDT type at 1, 1 000 and
// 100 000 elements (replica entries for counters, elements for sets, keys for maps; registers
// and claims have no size and run at 1). Throughput is items per second: operations for
// mutate/join/delta-join, elements for encode/decode.
//
// Rerun: bash dev.sh bench            (all)
//        bash dev.sh bench --benchmark_filter=AwOrSet
// Targets (DESIGN.md / issue #2): an LWW or counter delta applied in < 100 ns; an OR-set delta
// join whose cost does not grow with the set's size.
#include <benchmark/benchmark.h>

#include <vector>

#include "crdt/codec.h"
#include "crdt/components.h"

namespace worldline::crdt {
namespace {

constexpr ReplicaId kLocal = 1;
constexpr ReplicaId kRemote = 1'000'000;  // a replica id distinct from the n fill-in replicas

void sizes(benchmark::internal::Benchmark* b) {
  b->Arg(1)->Arg(1000)->Arg(100000);
}

// ---- counters ---------------------------------------------------------------------------------
GCounter gcounter_of(std::int64_t n) {
  GCounter g;
  for (std::int64_t i = 0; i < n; ++i)
    g.increment(static_cast<ReplicaId>(i + 1), 3);
  return g;
}

void BM_GCounter_Mutate(benchmark::State& st) {
  GCounter g = gcounter_of(st.range(0));
  for (auto _ : st)
    benchmark::DoNotOptimize(g.increment(kLocal, 1));
  st.SetItemsProcessed(st.iterations());
}
void BM_GCounter_DeltaJoin(benchmark::State& st) {
  GCounter g = gcounter_of(st.range(0));
  GCounter source;
  std::vector<GCounter> deltas;
  for (int i = 0; i < 1024; ++i)
    deltas.push_back(source.increment(kRemote, 1));
  std::size_t i = 0;
  for (auto _ : st) {
    g.join(deltas[i++ & 1023]);
    benchmark::ClobberMemory();
  }
  st.SetItemsProcessed(st.iterations());
}
void BM_GCounter_Join(benchmark::State& st) {
  GCounter a = gcounter_of(st.range(0)), b = gcounter_of(st.range(0));
  b.increment(kRemote, 5);
  for (auto _ : st)
    benchmark::DoNotOptimize(join(a, b));
  st.SetItemsProcessed(st.iterations());
}
void BM_PNCounter_DeltaJoin(benchmark::State& st) {
  PNCounter c(gcounter_of(st.range(0)), gcounter_of(st.range(0)));
  PNCounter source;
  std::vector<PNCounter> deltas;
  for (int i = 0; i < 1024; ++i) {
    deltas.push_back(i % 2 ? source.increment(kRemote, 2) : source.decrement(kRemote, 1));
  }
  std::size_t i = 0;
  for (auto _ : st) {
    c.join(deltas[i++ & 1023]);
    benchmark::ClobberMemory();
  }
  st.SetItemsProcessed(st.iterations());
}
void BM_BoundedCounter_Decrement(benchmark::State& st) {
  BoundedCounter gold(0);
  for (std::int64_t i = 0; i < st.range(0); ++i)
    gold.increment(static_cast<ReplicaId>(i + 1), 5);
  gold.increment(kLocal, UINT32_MAX);
  for (auto _ : st)
    benchmark::DoNotOptimize(gold.decrement(kLocal, 1));
  st.SetItemsProcessed(st.iterations());
}
void BM_BoundedCounter_DeltaJoin(benchmark::State& st) {
  BoundedCounter gold(0), source(0);
  for (std::int64_t i = 0; i < st.range(0); ++i)
    gold.increment(static_cast<ReplicaId>(i + 1), 5);
  std::vector<BoundedCounter> deltas;
  for (int i = 0; i < 1024; ++i)
    deltas.push_back(source.increment(kRemote, 1));
  std::size_t i = 0;
  for (auto _ : st) {
    gold.join(deltas[i++ & 1023]);
    benchmark::ClobberMemory();
  }
  st.SetItemsProcessed(st.iterations());
}

// ---- registers and policies -------------------------------------------------------------------
void BM_LwwRegister_Mutate(benchmark::State& st) {
  Position p;
  std::uint64_t t = 0;
  for (auto _ : st)
    benchmark::DoNotOptimize(p.assign(Vec3{1, 2, 3}, Hlc{++t, 0, kLocal}));
  st.SetItemsProcessed(st.iterations());
}
void BM_LwwRegister_DeltaJoin(benchmark::State& st) {
  Position p;
  std::uint64_t t = 0;
  for (auto _ : st) {
    // Every delta is newer than the state, so every join takes it.
    const Position delta(Vec3{1, 2, static_cast<double>(t)}, Hlc{++t, 0, 2});
    p.join(delta);
    benchmark::DoNotOptimize(p);
  }
  st.SetItemsProcessed(st.iterations());
}
void BM_MvRegister_Mutate(benchmark::State& st) {
  MvRegister<std::int64_t> r;
  std::int64_t v = 0;
  for (auto _ : st)
    benchmark::DoNotOptimize(r.assign(kLocal, ++v));
  st.SetItemsProcessed(st.iterations());
}
void BM_MaxWins_DeltaJoin(benchmark::State& st) {
  HighScore s;
  std::int64_t v = 0;
  for (auto _ : st) {
    s.join(HighScore(++v));
    benchmark::ClobberMemory();
  }
  st.SetItemsProcessed(st.iterations());
}
void BM_FirstClaimWins_DeltaJoin(benchmark::State& st) {
  UniqueItemOwner item;
  (void)item.claim(1, Hlc{1000, 0, 1});
  std::uint64_t t = 2000;
  for (auto _ : st) {
    item.join(UniqueItemOwner(UniqueItemOwner::Claim{Hlc{++t, 0, 2}, 2}));
    benchmark::ClobberMemory();
  }
  st.SetItemsProcessed(st.iterations());
}

// ---- OR-set and OR-map -----------------------------------------------------------------------
AwOrSet<std::int64_t> set_of(std::int64_t n) {
  AwOrSet<std::int64_t> s;
  for (std::int64_t i = 0; i < n; ++i)
    s.add(kLocal, i);
  return s;
}

void BM_AwOrSet_Mutate(benchmark::State& st) {
  auto s = set_of(st.range(0));
  std::int64_t e = 0;
  for (auto _ : st) {
    // add a fresh element then remove it: the set keeps its size
    benchmark::DoNotOptimize(s.add(kLocal, -(++e)));
    benchmark::DoNotOptimize(s.remove(-e));
  }
  st.SetItemsProcessed(st.iterations() * 2);
}

// Joins a stream of small remote deltas (add, then remove, of fresh elements) into a set of n.
void BM_AwOrSet_DeltaJoin(benchmark::State& st) {
  auto base = set_of(st.range(0));
  base.join(AwOrSet<std::int64_t>{});  // builds the dot index; copies keep it
  AwOrSet<std::int64_t> source;
  std::vector<AwOrSet<std::int64_t>> deltas;
  for (std::int64_t e = 0; e < 4096; ++e) {
    deltas.push_back(source.add(kRemote, -(e + 1)));
    deltas.push_back(source.remove(-(e + 1)));
  }
  auto s = base;
  std::size_t i = 0;
  for (auto _ : st) {
    if (i == deltas.size()) {
      st.PauseTiming();
      s = base;
      i = 0;
      st.ResumeTiming();
    }
    s.join(deltas[i++]);
    benchmark::ClobberMemory();
  }
  st.SetItemsProcessed(st.iterations());
}
void BM_AwOrSet_Join(benchmark::State& st) {
  auto a = set_of(st.range(0));
  auto b = a;
  b.add(kRemote, -1);
  for (auto _ : st)
    benchmark::DoNotOptimize(join(a, b));
  st.SetItemsProcessed(st.iterations() * st.range(0));
}

Inventory inventory_of(std::int64_t n) {
  Inventory inv;
  for (std::int64_t i = 0; i < n; ++i) {
    inv.update("item" + std::to_string(i), [](CausalCounter& c) { return c.add(kLocal, 1); });
  }
  return inv;
}
void BM_OrMap_Mutate(benchmark::State& st) {
  auto inv = inventory_of(st.range(0));
  for (auto _ : st) {
    benchmark::DoNotOptimize(
        inv.update("item0", [](CausalCounter& c) { return c.add(kLocal, 1); }));
  }
  st.SetItemsProcessed(st.iterations());
}
void BM_OrMap_DeltaJoin(benchmark::State& st) {
  auto inv = inventory_of(st.range(0));
  inv.join(Inventory{});  // builds the dot index
  Inventory source;
  std::vector<Inventory> deltas;
  for (int i = 0; i < 1024; ++i) {
    deltas.push_back(source.update("item0", [](CausalCounter& c) { return c.add(kRemote, 1); }));
  }
  std::size_t i = 0;
  for (auto _ : st) {
    inv.join(deltas[i++ & 1023]);
    benchmark::ClobberMemory();
  }
  st.SetItemsProcessed(st.iterations());
}

// ---- encode / decode --------------------------------------------------------------------------
template <class T>
void encode_decode(benchmark::State& st, const T& value, std::int64_t elements, bool decoding) {
  const std::string bytes = encode(value);
  for (auto _ : st) {
    if (decoding) {
      benchmark::DoNotOptimize(decode<T>(bytes));
    } else {
      benchmark::DoNotOptimize(encode(value));
    }
  }
  st.SetItemsProcessed(st.iterations() * elements);
  st.SetBytesProcessed(st.iterations() * static_cast<std::int64_t>(bytes.size()));
  st.counters["bytes"] = static_cast<double>(bytes.size());
}
void BM_GCounter_Encode(benchmark::State& st) {
  encode_decode(st, gcounter_of(st.range(0)), st.range(0), false);
}
void BM_GCounter_Decode(benchmark::State& st) {
  encode_decode(st, gcounter_of(st.range(0)), st.range(0), true);
}
void BM_AwOrSet_Encode(benchmark::State& st) {
  encode_decode(st, set_of(st.range(0)), st.range(0), false);
}
void BM_AwOrSet_Decode(benchmark::State& st) {
  encode_decode(st, set_of(st.range(0)), st.range(0), true);
}
void BM_OrMap_Encode(benchmark::State& st) {
  encode_decode(st, inventory_of(st.range(0)), st.range(0), false);
}
void BM_OrMap_Decode(benchmark::State& st) {
  encode_decode(st, inventory_of(st.range(0)), st.range(0), true);
}
void BM_LwwRegister_Encode(benchmark::State& st) {
  encode_decode(st, Position(Vec3{1, 2, 3}, Hlc{1'700'000'000'000, 3, 2}), 1, false);
}
void BM_LwwRegister_Decode(benchmark::State& st) {
  encode_decode(st, Position(Vec3{1, 2, 3}, Hlc{1'700'000'000'000, 3, 2}), 1, true);
}
void BM_AwOrSetDelta_Encode(benchmark::State& st) {
  auto s = set_of(st.range(0));
  encode_decode(st, s.add(kLocal, -1), 1, false);
}

BENCHMARK(BM_GCounter_Mutate)->Apply(sizes);
BENCHMARK(BM_GCounter_DeltaJoin)->Apply(sizes);
BENCHMARK(BM_GCounter_Join)->Apply(sizes);
BENCHMARK(BM_GCounter_Encode)->Apply(sizes);
BENCHMARK(BM_GCounter_Decode)->Apply(sizes);
BENCHMARK(BM_PNCounter_DeltaJoin)->Apply(sizes);
BENCHMARK(BM_BoundedCounter_Decrement)->Apply(sizes);
BENCHMARK(BM_BoundedCounter_DeltaJoin)->Apply(sizes);
BENCHMARK(BM_LwwRegister_Mutate);
BENCHMARK(BM_LwwRegister_DeltaJoin);
BENCHMARK(BM_LwwRegister_Encode);
BENCHMARK(BM_LwwRegister_Decode);
BENCHMARK(BM_MvRegister_Mutate);
BENCHMARK(BM_MaxWins_DeltaJoin);
BENCHMARK(BM_FirstClaimWins_DeltaJoin);
BENCHMARK(BM_AwOrSet_Mutate)->Apply(sizes);
BENCHMARK(BM_AwOrSet_DeltaJoin)->Apply(sizes);
BENCHMARK(BM_AwOrSet_Join)->Apply(sizes);
BENCHMARK(BM_AwOrSet_Encode)->Apply(sizes);
BENCHMARK(BM_AwOrSet_Decode)->Apply(sizes);
BENCHMARK(BM_AwOrSetDelta_Encode)->Apply(sizes);
BENCHMARK(BM_OrMap_Mutate)->Apply(sizes);
BENCHMARK(BM_OrMap_DeltaJoin)->Apply(sizes);
BENCHMARK(BM_OrMap_Encode)->Apply(sizes);
BENCHMARK(BM_OrMap_Decode)->Apply(sizes);

}  // namespace
}  // namespace worldline::crdt

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  std::printf("crdt_bench — rerun with: bash dev.sh bench [--benchmark_filter=REGEX]\n");
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
