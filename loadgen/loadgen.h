// The load generator: thousands of simulated players, each a real WebSocket session (Boost.Beast,
// subprotocol worldline.json or worldline.capnp) on a few I/O threads, playing a scenario against
// one or more region nodes, and measuring what a game client would: action → ack latency, state
// frames per second, rejects and errors. `worldline loadgen` and `worldline demo` run it;
// bench/e2e.sh tabulates it.
//
// Scenarios:
//   wander      — random walks around where each player spawned;
//   hotspot     — everyone walks to one point (a congregation: the region's tree splits);
//   pvp         — moves and attacks on random players of the same run;
//   item_rush   — moves, and often a rush for an item in sight: the unclaimed one with the lowest
//                 id, so players near each other go for the same one (contests, conflicts);
//   region_hop  — wander, and every few seconds a player disconnects and resumes (with its
//                 last ack) in the next region;
//   mixed       — the demo's: wander, fights with players in sight (any region's), and now and
//                 then a rush for an item in sight.
// A rush: the player walks to the item (one move per action, max_speed_per_tick at a time; it
// predicts where it stands from the moves it sent) and, on it, picks it up. It learns of items
// from the state frames (`item`, `owner`) and never tries an item twice: the nodes need
// `[region] items` for there to be any (docs/node.md).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "gateway/protocol.h"
#include "gateway/token.h"
#include "loadgen/cheats.h"
#include "replica/histogram.h"

namespace worldline::loadgen {

struct Options {
  std::vector<std::string> targets;  // host:port of region nodes; players are spread round-robin
  std::uint64_t players = 100;
  std::uint64_t first_player = 1;   // player ids first_player .. first_player + players - 1
  double actions_per_player_s = 5;  // each player's rate
  double seconds = 10;              // after every player connected
  std::string scenario = "wander";
  gateway::WireFormat format = gateway::WireFormat::kJson;  // the players' subprotocol
  gateway::TokenKey key;                                    // mints the players' tokens
  double connects_per_s = 2000;                             // ramp-up
  int threads = 2;                         // I/O threads, each with its share of the players
  std::uint64_t progress_every_ms = 1000;  // 0: no progress lines
  // A player whose connection is lost while playing resumes in the next target with its last
  // ack, as a game client would when its region dies, and the time until it acts again there is
  // measured (Report::failover_ms). Without it, a lost player stays lost (counted as dropped).
  bool failover = false;
  // The nodes' region.max_speed_per_tick: how far one move takes a player (its prediction of
  // where it stands, to know when it is on the item it rushes for).
  double max_speed_per_tick = 10;
  double attack_range = 5;  // the nodes' region.attack_range: fighters close in before they hit
  double tick_ms = 50;  // the nodes' tick period: how far a move may go in the time since the last
  // Labelled players (cheats.h): the run's first players, group after group — cheats, then hard
  // honest players (lag spikes, skilled). Everyone else is honest.
  Population population;
};

struct Report {
  std::uint64_t players = 0, connected = 0, connect_failures = 0, disconnected = 0;
  // Over the measured window: actions sent in it, and of those the ones acked in it (an action
  // sent during the ramp-up counts in neither), so acked <= actions_sent; the rest were in flight
  // at the window's end, or lost.
  std::uint64_t actions_sent = 0, acked = 0, rejects = 0, errors = 0;
  std::uint64_t state_frames = 0, hops = 0;
  // Pickups sent (of items seen in the state frames), and those refused: the item was claimed
  // first by another player (`refused`: already claimed; `conflict_lost`: by a concurrent claim in
  // another region), or the prediction was off (`out_of_range`).
  std::uint64_t pickups = 0, pickups_lost = 0, pickups_out_of_range = 0;
  // With Options::failover: players that lost their connection and acted again in another region
  // (failovers), and those that found no region to resume in (failover_failures). failover_ms:
  // connection lost → the first ack, from the new region, of an action not acknowledged before
  // the loss (a resent one, or the next the player makes).
  std::uint64_t failovers = 0, failover_failures = 0;
  replica::Histogram failover_ms{
      {10, 20, 50, 100, 150, 200, 300, 400, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000}};
  double seconds = 0;  // of the measured phase
  // Client-measured action sent → first state frame whose ack covers it, ms.
  // 22, 55 and 60 are the targets' bounds (DESIGN.md: p95 ≤ 22 ms at 60 Hz, p95 ≤ 55 and p99 ≤ 60
  // at 20 Hz).
  replica::Histogram ack_ms{{1,  2,  5,  10, 15,  20,  22,  25,  30,  35,   40,   45,  50,
                             55, 60, 70, 80, 100, 150, 200, 300, 500, 1000, 2000, 5000}};
  double actions_per_s() const { return seconds > 0 ? acked / seconds : 0; }
  double state_frames_per_client_s() const {
    return seconds > 0 && connected > 0 ? state_frames / seconds / connected : 0;
  }
  // A few lines: the figures and the latency quantiles (bucket upper bounds).
  std::string summary() const;
};

// One progress line per progress_every_ms on `out`; returns when the run is over or `stop` is set.
// A line for callers to extend (the demo adds the nodes' figures).
using ProgressHook = std::function<void(const Report& so_far, std::uint64_t elapsed_ms)>;
Report run(const Options& options, std::ostream& out, const std::atomic<bool>* stop = nullptr,
           const ProgressHook& hook = {});

bool valid_scenario(const std::string& name);

}  // namespace worldline::loadgen
