// `worldline demo`: three region nodes on loopback (temporary LMDB dirs) and the load generator
// playing against all three, one progress line per second, a final report and a convergence check.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

namespace worldline::app {

struct DemoOptions {
  std::uint64_t players = 1500;
  double seconds = 10;
  double actions_per_player_s = 2;
  std::string scenario = "mixed";
  std::string protocol = "json";  // the players' subprotocol: json or capnp
  // Labelled cheaters among the players (loadgen --cheaters form); the report says which the
  // cheat detection flagged, and how many honest players it flagged.
  std::string cheaters = "speed50=5,teleport=5,rapid_fire=5";
};

// Returns a process exit code: 0 when players were served and the regions converged.
int run_demo(std::ostream& out, const DemoOptions& options);

}  // namespace worldline::app
