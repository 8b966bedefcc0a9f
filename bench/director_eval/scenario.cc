// The compressed day: the wave, the boss, the flash crowd, and each player's walk and acts.
#include "bench/director_eval/scenario.h"

#include <algorithm>
#include <cmath>

namespace worldline::bench_director {
namespace {

constexpr double kBucket = 16;  // world units: the attack-target buckets
constexpr int kBuckets = static_cast<int>(kPlayHalf / kBucket);

// Writes a position, as a spawn, a login or a logout does (outside the tick, like a peer's write).
void place(replica::Replica& world, crdt::HlcClock& clock, region::ActorId id, double x, double z) {
  (void)world.write(replica::Key{id, region::kPositionComponent},
                    [&](replica::ComponentValue& v) -> std::optional<replica::ComponentValue> {
                      return std::get<crdt::Position>(v).assign({x, 0, z}, clock.now());
                    });
}

int bucket_of(double v) {
  return std::clamp(static_cast<int>(v / kBucket), 0, kBuckets - 1);
}

}  // namespace

Scenario::Scenario(ScenarioOptions options, const region::GameRules& rules)
    : options_(options),
      max_step_(rules.config().max_speed_per_tick),
      rng_(options.seed),
      buckets_(static_cast<std::size_t>(kBuckets * kBuckets)) {
  std::uniform_real_distribution<double> in_play(64, kPlayHalf - 64), unit(0, 1);
  // Six towns, away from the boss and the crowd spots so that both draws are visible.
  while (towns_.size() < 6) {
    const Spot t{in_play(rng_), in_play(rng_)};
    const auto far = [&](const Spot& s) { return std::hypot(t.x - s.x, t.z - s.z) > 200; };
    if (far(options_.boss) && far(options_.crowd)) towns_.push_back(t);
  }
  std::normal_distribution<double> spread(0, 60);
  players_.resize(static_cast<std::size_t>(options_.players));
  for (std::size_t i = 0; i < players_.size(); ++i) {
    Player& p = players_[i];
    p.id = static_cast<region::ActorId>(i + 1);
    if (unit(rng_) < 0.8) {  // a town dweller
      const Spot& t = towns_[rng_() % towns_.size()];
      p.hx = std::clamp(t.x + spread(rng_), 1.0, kPlayHalf - 1);
      p.hz = std::clamp(t.z + spread(rng_), 1.0, kPlayHalf - 1);
    } else {  // a loner, anywhere
      p.hx = in_play(rng_);
      p.hz = in_play(rng_);
    }
    p.speed = 1 + 2 * unit(rng_);
  }
}

double Scenario::online_share(double t_s) const {
  const double phase = 2 * M_PI * t_s / options_.day_s;
  return options_.online_min +
         (options_.online_max - options_.online_min) * (1 - std::cos(phase)) / 2;
}

void Scenario::spawn_all(const region::GameRules& rules, replica::Replica& world,
                         crdt::HlcClock& clock) {
  std::uniform_real_distribution<double> coord(0, 2 * kPlayHalf - 1);
  for (Player& p : players_) {
    // Limbo: anywhere in the world but the play quadrant.
    do {
      p.x = coord(rng_);
      p.z = coord(rng_);
    } while (p.x < kPlayHalf && p.z < kPlayHalf);
    rules.spawn(world, p.id, {p.x, 0, p.z}, clock);  // health: the dead cannot move
  }
  rules.spawn(world, kBossEntity, {options_.boss.x, 0, options_.boss.z}, clock);
}

void Scenario::log_in(Player& p, replica::Replica& world, crdt::HlcClock& clock) {
  std::normal_distribution<double> near(0, 10);
  p.x = std::clamp(p.hx + near(rng_), 1.0, kPlayHalf - 1);
  p.z = std::clamp(p.hz + near(rng_), 1.0, kPlayHalf - 1);
  p.wx = p.x;
  p.wz = p.z;
  p.online = true;
  p.goal = Goal::kWander;
  place(world, clock, p.id, p.x, p.z);
  ++counts_.logins;
  ++counts_.online;
  counts_.peak_online = std::max(counts_.peak_online, counts_.online);
}

void Scenario::log_out(Player& p, replica::Replica& world, crdt::HlcClock& clock) {
  std::uniform_real_distribution<double> coord(0, 2 * kPlayHalf - 1);
  do {
    p.x = coord(rng_);
    p.z = coord(rng_);
  } while (p.x < kPlayHalf && p.z < kPlayHalf);
  p.online = false;
  place(world, clock, p.id, p.x, p.z);
  ++counts_.logouts;
  --counts_.online;
}

void Scenario::draw_to(Goal goal, double share) {
  std::uniform_real_distribution<double> unit(0, 1);
  const Spot& s = goal == Goal::kBoss ? options_.boss : options_.crowd;
  for (Player& p : players_) {
    if (!p.online || p.goal != Goal::kWander || unit(rng_) >= share) continue;
    p.goal = goal;
    // A place within the gathering radius, uniform over the disc.
    const double r = options_.gather_radius * std::sqrt(unit(rng_)), a = 2 * M_PI * unit(rng_);
    p.wx = s.x + r * std::cos(a);
    p.wz = s.z + r * std::sin(a);
    p.pause_s = 0;
    p.run = true;
    ++(goal == Goal::kBoss ? counts_.boss_drawn : counts_.crowd_drawn);
  }
}

void Scenario::pick_waypoint(Player& p, double t_s) {
  std::normal_distribution<double> near(0, 40);
  std::uniform_real_distribution<double> pause(0.5, 4);
  p.wx = std::clamp(p.hx + near(rng_), 1.0, kPlayHalf - 1);
  p.wz = std::clamp(p.hz + near(rng_), 1.0, kPlayHalf - 1);
  p.pause_s = t_s + pause(rng_);
}

void Scenario::rebuild_buckets() {
  for (auto& b : buckets_)
    b.clear();
  for (std::uint32_t i = 0; i < players_.size(); ++i) {
    const Player& p = players_[i];
    if (p.online) buckets_[bucket_of(p.z) * kBuckets + bucket_of(p.x)].push_back(i);
  }
}

region::ActorId Scenario::neighbour(const Player& p, double r) {
  const auto& b = buckets_[bucket_of(p.z) * kBuckets + bucket_of(p.x)];
  if (b.size() < 2) return 0;
  for (int tries = 0; tries < 3; ++tries) {
    const Player& q = players_[b[rng_() % b.size()]];
    if (q.id != p.id && std::hypot(q.x - p.x, q.z - p.z) <= r) return q.id;
  }
  return 0;
}

region::Submission Scenario::act(Player& p, double t_s, std::uint64_t now_ms) {
  std::uniform_real_distribution<double> unit(0, 1);
  region::Action a;
  a.actor = p.id;
  a.client_seq = ++p.seq;
  a.client_time_ms = now_ms;
  const double dx = p.wx - p.x, dz = p.wz - p.z, d = std::hypot(dx, dz);
  const bool gathered = p.goal != Goal::kWander && d < 1;
  // At the boss most acts are attacks on it; in the crowd, fights among the crowd; a wanderer
  // now and then fights whoever stands next to it.
  const double attack_share = gathered ? (p.goal == Goal::kBoss ? 0.6 : 0.5) : 0.08;
  region::ActionKind kind = region::ActionKind::kMove;
  if (d < 1 || p.goal == Goal::kWander) {
    const double roll = unit(rng_);
    if (roll < attack_share) {
      const region::ActorId target =
          p.goal == Goal::kBoss && gathered ? kBossEntity : neighbour(p, 6);
      if (target != 0) {
        a.target = target;
        kind = region::ActionKind::kAttack;
      }
    } else if (roll < attack_share + 0.05) {
      a.text = "gg";
      kind = region::ActionKind::kEmote;
    }
  }
  if (kind == region::ActionKind::kMove) {
    if (d < 1) {
      p.run = false;
      if (p.goal == Goal::kWander && t_s >= p.pause_s) pick_waypoint(p, t_s);
      // Standing: a shuffle of a unit or so (still a move the rules check).
      p.x = std::clamp(p.x + unit(rng_) - 0.5, 0.0, kPlayHalf - 1);
      p.z = std::clamp(p.z + unit(rng_) - 0.5, 0.0, kPlayHalf - 1);
    } else {
      // Acting every other tick: two ticks' worth of walking (drawn players run at full speed).
      const double step = std::min(d, 2 * (p.run ? 0.95 * max_step_ : p.speed));
      p.x += dx / d * step;
      p.z += dz / d * step;
    }
    a.position = {p.x, 0, p.z};
  }
  (kind == region::ActionKind::kMove     ? counts_.moves
   : kind == region::ActionKind::kAttack ? counts_.attacks
                                         : counts_.emotes)++;
  return region::Submission{static_cast<int>(kind), std::move(a)};
}

std::vector<region::Submission> Scenario::step(std::uint64_t tick, double t_s, std::uint64_t now_ms,
                                               replica::Replica& world, crdt::HlcClock& clock) {
  // The wave: log players in or out towards the share wanted now (wanderers only log out).
  const int want = static_cast<int>(std::lround(online_share(t_s) * options_.players));
  while (counts_.online < want) {
    Player& p = players_[rng_() % players_.size()];
    if (!p.online) log_in(p, world, clock);
  }
  for (int tries = 0; counts_.online > want && tries < 100'000; ++tries) {
    Player& p = players_[rng_() % players_.size()];
    if (p.online && p.goal == Goal::kWander) log_out(p, world, clock);
  }
  // The boss's players leave 3 s before it starts (most arrive within a few seconds).
  const double boss_at = options_.boss_at_s(), crowd_at = options_.crowd_at_s();
  if (!boss_called_ && t_s >= boss_at - 3) {
    boss_called_ = true;
    draw_to(Goal::kBoss, options_.boss_draw);
  }
  if (!crowd_called_ && t_s >= crowd_at) {
    crowd_called_ = true;
    draw_to(Goal::kCrowd, options_.crowd_draw);
  }
  const auto release = [&](Goal goal) {
    for (Player& p : players_) {
      if (p.goal == goal) {
        p.goal = Goal::kWander;
        p.wx = p.hx;  // home, running
        p.wz = p.hz;
        p.pause_s = t_s;
        p.run = true;
      }
    }
  };
  if (!boss_over_ && t_s >= boss_at + options_.boss_for_s) {
    boss_over_ = true;
    release(Goal::kBoss);
  }
  if (!crowd_over_ && t_s >= crowd_at + options_.crowd_for_s) {
    crowd_over_ = true;
    release(Goal::kCrowd);
  }

  rebuild_buckets();
  std::vector<region::Submission> out;
  out.reserve(static_cast<std::size_t>(counts_.online / 2 + 1));
  for (Player& p : players_) {
    if (p.online && (p.id + tick) % 2 == 0) out.push_back(act(p, t_s, now_ms));
  }
  return out;
}

void Scenario::reconcile(const replica::Replica& world) {
  for (Player& p : players_) {
    if (!p.online) continue;
    if (const auto pos = region::GameRules::position(world, p.id)) {
      p.x = pos->x;
      p.z = pos->z;
    }
  }
}

std::vector<int> Scenario::online_per_area(int cells) const {
  std::vector<int> out(static_cast<std::size_t>(cells * cells), 0);
  const double size = kPlayHalf / cells;
  for (const Player& p : players_) {
    if (!p.online) continue;
    const int cx = std::clamp(static_cast<int>(p.x / size), 0, cells - 1);
    const int cz = std::clamp(static_cast<int>(p.z / size), 0, cells - 1);
    ++out[static_cast<std::size_t>(cz * cells + cx)];
  }
  return out;
}

}  // namespace worldline::bench_director
