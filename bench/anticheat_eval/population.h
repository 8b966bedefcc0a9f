// The labelled population of bench/anticheat_eval: simulated clients of several kinds, honest
// and cheating, played at once through one region's real pipeline, game rules and detector, on
// simulated time with one seeded random source per run (a seed replays exactly).
//
// Every client walks between waypoints near its home and now and then fights its own training
// dummy (stands at a distance from it and attacks), sends a move per frame of its own clock with
// the position it predicts, emotes now and then, and reconciles to the server's position when
// that differs from its prediction by more than kReconcileUnits (as a client with prediction
// does). Its frames reach the region after a network delay with jitter, in order (TCP), and
// the server's state reaches it the same way back. Every client aims (the protocol's `aim` on
// its moves and attacks): it looks where it walks; at its fighting spot it looks around until
// the dummy comes into view (within 45° of its aim), reacts (lognormal, median 250 ms), flicks
// onto it (a minimum-jerk turn, its angular speed limited), settles and fires; its shots land
// with a per-player spread (the rules count a shot more than 10° off as a miss). What the kinds
// change is in population.cc.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "region/anticheat/detector.h"

namespace worldline::bench_ac {

enum class Kind : int {
  // honest
  kNormal,
  kLagSpikes,   // stalls of 0.3–1.0 s every 3–15 s, then the burst of what queued
  kJittery,     // 0–150 ms of jitter on every packet
  kSkilled,     // attacks right at the cooldown, from the edge of range, walks at full speed
  kHardHonest,  // all three at once
  // cheats
  kSpeed10,
  kSpeed50,
  kTeleport,   // a jump of 40–80 units every 3–6 s
  kClock5,     // the whole client runs 5 % fast (its clock, its frames, its actions)
  kRapidFire,  // attacks at about 1.8× the rate the cooldown allows
  kReach,      // attacks from 1.3–2× the range
  kBot,        // discrete actions at perfectly regular intervals
  kAimSnap,    // human in every way but one: turns onto the target in one step as it fires
  kAimbot,     // fires as the target comes into view, aim locked on it: snap, reaction, hit ratio
};
inline constexpr int kKinds = 14;

struct KindInfo {
  const char* name;
  bool cheat;
  const char* group;  // honest, blatant, subtle, other
  int per_run;        // players of this kind in one run
};
const std::array<KindInfo, kKinds>& kinds();
inline const KindInfo& info(Kind k) {
  return kinds()[static_cast<std::size_t>(k)];
}
// Honest players whose links stall (the lag-spike target counts them).
inline bool lag_spiky(Kind k) {
  return k == Kind::kLagSpikes || k == Kind::kHardHonest;
}

struct PlayerResult {
  Kind kind = Kind::kNormal;
  double max_z = -1e9;  // the highest score over the run (polled after every tick)
  double final_z = 0;   // at the end
  // The first flag, in seconds after the cheat's first act (a rapid-fire or reach cheater's
  // first attack, a teleporter's first jump; the first frame for the others and the honest).
  std::optional<double> detected_s;
  std::string first_checks;  // the checks that fired in the first flag
  std::array<double, region::anticheat::kChecks> max_feature{};  // each check's, over the run
  double hits = 0, attempts = 0;  // aimed attacks that hit, and that reached the aim test
};

struct RunOptions {
  std::uint64_t seed = 1;
  double seconds = 120;                                    // of simulated play
  double scale = 1;                                        // players per kind × scale
  worldline::region::anticheat::AnticheatConfig detector;  // pace and ranges are set from the rules
};

struct RunStats {
  std::uint64_t ticks = 0, actions = 0, flags = 0;
  double wall_s = 0;
};

// Plays one run: every kind's players at once in one region, `seconds` of simulated time.
std::vector<PlayerResult> run_population(const RunOptions& options, RunStats* stats = nullptr);

}  // namespace worldline::bench_ac
