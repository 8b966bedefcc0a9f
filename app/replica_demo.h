// The second part of `worldline demo`: three real replica nodes (LMDB journals in a temporary
// directory, Cap'n Proto RPC over loopback sockets), each writing, printing one progress line per
// second and checking at the end that all three hold the same state.
#pragma once

#include <cstdint>
#include <ostream>

namespace worldline::app {

// Returns 0 if the three replicas converged.
int run_replica_demo(std::ostream& out, std::uint64_t seconds, std::uint64_t writes_per_second);

}  // namespace worldline::app
