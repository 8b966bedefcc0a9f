// The compressed day of bench/director_eval: seeded simulated players who log in and out
// following a slow sinusoid, walk around their home town, are drawn to a scheduled world boss,
// and converge unannounced on one spot (a flash crowd). Every act is a region::Submission for the
// real pipeline; the scenario keeps where each client believes it stands and is corrected from
// the authoritative state after every tick (as a client with prediction is).
//
// The pipeline has no despawn: a player who logs out is parked (a position write) at a random
// point of the "limbo", the three quadrants of the world outside the play area, so its entity
// weighs on far cells only and never on an area the director watches.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "crdt/hlc.h"
#include "region/game_rules.h"
#include "region/partitioner.h"
#include "region/pipeline.h"
#include "replica/replica.h"

namespace worldline::bench_director {

inline constexpr double kTickMs = 50;      // 20 Hz
inline constexpr double kPlayHalf = 1024;  // the play area is [0, 1024)²; the world [0, 2048)²

struct Spot {
  double x = 0, z = 0;
};

struct ScenarioOptions {
  std::uint64_t seed = 1;
  double day_s = 120;       // the whole run, simulated seconds
  int players = 2000;       // accounts; online ones follow the wave
  double online_min = 0.2;  // share online at the start and end of the day
  double online_max = 0.8;  // at midday
  // The world boss: scheduled (the director knows when, where and what share of the players it
  // draws; not who, nor how long they take to arrive).
  double boss_at_frac = 0.4, boss_for_s = 18, boss_draw = 0.4;
  Spot boss{704, 320};  // the centre of grid area (5, 2) of the 128-unit grid
  // The flash crowd: unannounced.
  double crowd_at_frac = 0.65, crowd_for_s = 30, crowd_draw = 0.3;
  Spot crowd{320, 832};       // the centre of grid area (2, 6)
  double gather_radius = 40;  // drawn players stand within this of the spot

  double boss_at_s() const { return boss_at_frac * day_s; }
  double crowd_at_s() const { return crowd_at_frac * day_s; }
};

// Each act of the day, counted.
struct ScenarioCounts {
  std::uint64_t moves = 0, attacks = 0, emotes = 0, logins = 0, logouts = 0;
  int online = 0, peak_online = 0;
  int boss_drawn = 0, crowd_drawn = 0;  // players sent to the boss and the crowd
};

class Scenario {
 public:
  Scenario(ScenarioOptions options, const region::GameRules& rules);

  // Every account's entity, parked in limbo, and the boss: call before the pipeline is built.
  void spawn_all(const region::GameRules& rules, replica::Replica& world, crdt::HlcClock& clock);
  // The tick starting at t_s (simulated seconds since the start of the day): logins and logouts
  // (position writes into `world`), then the online players' actions.
  std::vector<region::Submission> step(std::uint64_t tick, double t_s, std::uint64_t now_ms,
                                       replica::Replica& world, crdt::HlcClock& clock);
  // After the tick: every online client takes the authoritative position.
  void reconcile(const replica::Replica& world);

  // Online players per cell of a uniform grid over the play area (cells × cells, row-major by
  // z then x), as the scenario knows them: the ground truth the density map approximates.
  std::vector<int> online_per_area(int cells) const;
  int online() const { return counts_.online; }
  const ScenarioCounts& counts() const { return counts_; }
  const ScenarioOptions& options() const { return options_; }
  // The share of players the wave wants online at t_s.
  double online_share(double t_s) const;

 private:
  enum class Goal : std::uint8_t { kWander, kBoss, kCrowd };
  struct Player {
    region::ActorId id = 0;
    bool online = false;
    Goal goal = Goal::kWander;
    double x = 0, z = 0;    // where the client believes it stands
    double hx = 0, hz = 0;  // home: a point near its town
    double wx = 0, wz = 0;  // the current waypoint
    double pause_s = 0;     // standing still at a waypoint until this time
    double speed = 2;       // world units per tick when walking
    bool run = false;       // on its way to a gathering or back home: at full speed
    std::uint64_t seq = 0;
  };

  void log_in(Player& p, replica::Replica& world, crdt::HlcClock& clock);
  void log_out(Player& p, replica::Replica& world, crdt::HlcClock& clock);
  void draw_to(Goal goal, double share);
  void pick_waypoint(Player& p, double t_s);
  region::Submission act(Player& p, double t_s, std::uint64_t now_ms);
  // A random other online player within `r` of p, or 0.
  region::ActorId neighbour(const Player& p, double r);
  void rebuild_buckets();

  ScenarioOptions options_;
  double max_step_;  // world units a player may move per tick (the rules' budget)
  std::mt19937_64 rng_;
  std::vector<Player> players_;  // index i has id i + 1
  std::vector<Spot> towns_;
  ScenarioCounts counts_;
  bool boss_called_ = false, boss_over_ = false, crowd_called_ = false, crowd_over_ = false;
  // Online players by 16-unit bucket of the play area, rebuilt every tick (attack targets).
  std::vector<std::vector<std::uint32_t>> buckets_;
};

// The boss: an entity with health to spare that drawn players attack.
inline constexpr region::ActorId kBossEntity = 1'000'000;

}  // namespace worldline::bench_director
