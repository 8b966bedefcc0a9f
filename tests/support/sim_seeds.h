// The seeds a simulation test runs: its shard's range, or what the environment asks for —
// WORLDLINE_SIM_SEED=<seed> replays one seed, WORLDLINE_SIM_SEEDS=<count> runs that many from the
// shard's first seed.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <utility>

namespace worldline::testing {

// {first seed, count}
inline std::pair<std::uint64_t, std::uint64_t> sim_seeds(std::uint64_t from, std::uint64_t count) {
  if (const char* s = std::getenv("WORLDLINE_SIM_SEED")) return {std::strtoull(s, nullptr, 10), 1};
  if (const char* c = std::getenv("WORLDLINE_SIM_SEEDS"))
    return {from, std::strtoull(c, nullptr, 10)};
  return {from, count};
}

}  // namespace worldline::testing
