// The wall clock as tokens (seconds) and clients' `t` fields (milliseconds) read it, for tests
// that mint tokens and send actions to a real node.
#pragma once

#include <chrono>
#include <cstdint>

namespace worldline::testing {

inline std::int64_t unix_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline std::uint64_t unix_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

}  // namespace worldline::testing
