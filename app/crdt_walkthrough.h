// The CRDT replication walkthrough `worldline demo` runs until the full three-region demo exists:
// three in-process regions mutate game components, gossip encoded deltas, get partitioned and
// healed, and end identical. Everything printed is computed, nothing is scripted text about state.
#pragma once

#include <ostream>

namespace worldline::app {

// Runs the walkthrough, writing its narrative to `out`. Returns 0 if all regions converged.
int run_crdt_walkthrough(std::ostream& out);

}  // namespace worldline::app
