// Labelled player behaviours for the load generator: honest players (the default), the cheats
// of issue #16 and the hard honest players a detector must not flag, so the cheat detection can
// be judged end to end against a real node (bench/anticheat_e2e.sh). Plain, seeded code — the
// socket-driving Bot (loadgen.cc) asks it how to step, when to act and what clock to claim.
//
// A population is written `kind=count,...` (`--cheaters speed50=10,teleport=10`, `--hard
// lag_spikes=50`); its players are the run's first ones, group after group in the order written,
// so a player's label follows from its id (labels() prints the ranges).
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crdt/result.h"

namespace worldline::loadgen {

enum class Behaviour : std::uint8_t {
  kHonest,
  // cheats
  kSpeed10,     // runs at 1.1 × max speed (its moves claim it; the region clamps them)
  kSpeed50,     // 1.5 ×
  kTeleport,    // a jump of 40–80 units every 3–6 s
  kFastClock,   // the whole client runs 5 % fast: its clock, its frames, its actions
  kRapidFire,   // attacks twice within the cooldown whenever it attacks
  kRegularBot,  // acts on an exact period, no human spread
  // hard honest players
  kLagSpikes,  // stalls of 0.3–1.0 s every 3–15 s, then everything held goes at once
  kSkilled,    // walks flat out: every move as long as the time since the last one allows
};

const char* to_string(Behaviour b);
bool is_cheat(Behaviour b);

struct PopulationGroup {
  Behaviour behaviour = Behaviour::kHonest;
  std::uint64_t count = 0;
};
using Population = std::vector<PopulationGroup>;

// "speed50=10,teleport=5": the groups in order. `cheats`: whether the kinds must be cheats (for
// --cheaters) or hard honest players (for --hard). An empty text is an empty population.
crdt::Result<Population> parse_population(std::string_view text, bool cheats);

// The behaviour of the run's player number `index` (0-based).
Behaviour behaviour_of(const Population& population, std::uint64_t index);

// One line per group: "speed50: players 1-10", with the run's first player id.
std::string labels(const Population& population, std::uint64_t first_player);

// How a player of one behaviour moves and acts, given its own clock. Seeded per player.
class Conduct {
 public:
  Conduct(Behaviour b, std::uint64_t seed) : behaviour_(b), rng_(seed) {}

  Behaviour behaviour() const { return behaviour_; }

  // How far a move may go after `elapsed_ms` of the client's own time since its previous move,
  // in world units, with the region's `speed_per_tick` and tick period. Honest players take at
  // most one tick's worth and never more than the time allows; the skilled run flat out (up to
  // 2.9 ticks' worth, just under the region's longest single move); speed hacks claim 1.1× and
  // 1.5× of the skilled step.
  double step(double elapsed_ms, double speed_per_tick, double tick_ms) const;

  // The wait before the next action, from the run's period: honest players spread it (a human
  // does not act on a metronome: ×0.6–1.4), the regular bot keeps it exact, the fast clock runs
  // 5 % short.
  double next_wait_ms(double period_ms);

  // The client clock it claims at real time `now_ms` (since the epoch), from when it started.
  std::uint64_t claimed_ms(std::uint64_t now_ms, std::uint64_t start_ms) const;

  // A teleporter's jump, when one is due at real time `now_ms`: its length (40–80 units).
  std::optional<double> jump_due(std::uint64_t now_ms);

  // Lag spikes: whether the player's link is stalled at `now_ms` (its frames held, sent together
  // when the stall ends).
  bool stalled(std::uint64_t now_ms);

  // Whether every attack goes with a second one right behind it (rapid fire).
  bool doubles_attacks() const { return behaviour_ == Behaviour::kRapidFire; }
  // Whether the player seeks fights whatever the scenario (attack-based cheats need targets).
  bool fights() const {
    return behaviour_ == Behaviour::kRapidFire || behaviour_ == Behaviour::kRegularBot;
  }

 private:
  Behaviour behaviour_;
  std::mt19937_64 rng_;
  std::uint64_t next_jump_ms_ = 0;
  std::uint64_t stall_from_ms_ = 0, stall_until_ms_ = 0;
};

}  // namespace worldline::loadgen
