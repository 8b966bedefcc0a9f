// The seeds a sharded simulation test runs. Shard i (0-based) of a suite with `per_shard` seeds
// per shard runs seeds 1 + i·per_shard … (i+1)·per_shard, so the shards together cover 1 … n
// without gaps. The environment overrides it:
//   WORLDLINE_SIM_SEED=<seed>    replays that one seed (in whichever shard is run);
//   WORLDLINE_SIM_SEEDS=<count>  runs <count> seeds per shard, still contiguous across shards
//                                (a deeper run than the test command's: e.g. 125 → seeds 1 … 1000).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <utility>

namespace worldline::testing {

// {first seed, count}
inline std::pair<std::uint64_t, std::uint64_t> sim_seeds(std::uint64_t shard,
                                                         std::uint64_t per_shard) {
  if (const char* s = std::getenv("WORLDLINE_SIM_SEED")) return {std::strtoull(s, nullptr, 10), 1};
  if (const char* c = std::getenv("WORLDLINE_SIM_SEEDS")) per_shard = std::strtoull(c, nullptr, 10);
  return {1 + shard * per_shard, per_shard};
}

}  // namespace worldline::testing
