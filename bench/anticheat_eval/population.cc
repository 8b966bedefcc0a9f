#include "bench/anticheat_eval/population.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <memory>
#include <random>

#include "region/pipeline.h"
#include "tests/support/outboxes.h"

namespace worldline::bench_ac {
namespace {

using region::ActionKind;
using region::ActorId;
namespace ac = region::anticheat;

constexpr std::uint64_t kTickMs = 50;
constexpr double kFrameMs = 50;        // a client's frame, by its own clock
constexpr double kReconcileUnits = 3;  // a client snaps to the server beyond this divergence
constexpr std::uint64_t kStartMs = 1'000'000;
constexpr ActorId kDummyBase = 1'000'000;  // player p's training dummy is kDummyBase + p
constexpr double kCooldownMs = 100;        // GameConfig's 2 ticks at 20 Hz

constexpr double kViewDeg = 45;  // the dummy is in view within this of the client's aim

// An angle in (−180, 180].
double wrap(double deg) {
  deg = std::fmod(deg + 180, 360);
  if (deg < 0) deg += 360;
  return deg - 180;
}

// A minimum-jerk turn's share done at τ ∈ [0, 1] (how a human's aimed movement accelerates
// and decelerates: zero speed at both ends, peak 1.875× the mean).
double min_jerk(double tau) {
  tau = std::clamp(tau, 0.0, 1.0);
  return tau * tau * tau * (10 - 15 * tau + 6 * tau * tau);
}

// How a player aims: the spread of its shots (each axis, degrees), its reaction after the
// target came into view (lognormal median, ms), the top angular speed of its flicks (°/s), the
// settle after a flick (median ms), how often it fires at the end of the flick without one, and
// its delay from settled to firing (median ms).
struct AimSkill {
  double sigma = 7, reaction_ms = 250, omega = 600, settle_ms = 110, flick_shot = 0.03,
         fire_ms = 50;
};

// Counts each player's aimed attacks that reached the aim test, and its hits, on the way to the
// detector (the population's hit rate, for the prior).
class CountingObserver final : public region::ActionObserver {
 public:
  CountingObserver(ac::Detector& detector, std::vector<PlayerResult>& out)
      : detector_(detector), out_(out) {}
  void observe(const region::Action& a, const region::Outcome& o, std::uint64_t tick) override {
    detector_.observe(a, o, tick);
    if (a.kind == ActionKind::kAttack && o.aim_error_deg >= 0 && a.actor >= 1 &&
        a.actor <= out_.size()) {
      out_[a.actor - 1].attempts += 1;
      out_[a.actor - 1].hits += o.limit == region::Limit::kMissed ? 0 : 1;
    }
  }

 private:
  ac::Detector& detector_;
  std::vector<PlayerResult>& out_;
};

// The journal's write is the node's cost, not the detector's: dropped (as in region_bench).
class DiscardingJournal final : public replica::Journal {
 public:
  crdt::Result<bool> append(const replica::JournalRecord&) override { return true; }
};

struct Snapshot {
  std::uint64_t arrival;
  double x, z;
  std::uint64_t seq;  // the highest seq the server had processed
};

struct Client {
  ActorId id = 0;
  Kind kind = Kind::kNormal;
  std::mt19937_64 rng;
  double hx = 0, hz = 0, dx = 0, dz = 0;  // home; the dummy
  // The link: one-way delay, jitter (uniform), lag spikes (real ms; both directions stall).
  double base_ms = 40, jitter_ms = 40;
  bool spikes = false;
  double spike_at = 1e18, spike_end = 1e18;
  std::uint64_t last_up = 0, last_down = 0;
  std::deque<std::pair<std::uint64_t, region::Submission>> up;
  std::deque<Snapshot> down;
  // The client's clock: e is the time elapsed since its start by its own clock; it reads
  // start + offset + e, at real time start + e / rate.
  double rate = 1, offset = 0, start = 0;
  double cheat_from = -1;  // real ms of the cheat's first act (-1: not yet)
  double e_frame = 0, e_attack = 0, e_emote = 0, e_teleport = 1e18;
  // Movement, as the client predicts it.
  double x = 0, z = 0, wx = 0, wz = 0, sx = 0, sz = 0;
  double pace = 1, speed_factor = 1, stand = 3;
  enum Phase { kWalk, kApproach, kFight } phase = kWalk;
  double fight_end = 0;
  // Aim, in degrees: yaw in the x–z plane (0: +x, 90: +z, as atan2(z, x)), pitch up. While
  // walking it turns to the heading; in a fight it goes through the stages below, each turn
  // from (from_yaw, from_pitch) to (to_yaw, to_pitch) between stage_start and stage_end.
  AimSkill skill;
  double yaw = 0, pitch = 0, heading = 0, aim_e = 0;
  enum Stage { kLook, kAway, kScan, kReact, kFlick, kSettle, kTrack } stage = kLook;
  double scan_speed = 50, away_yaw = 0, stage_start = 0, stage_end = 0;
  double from_yaw = 0, from_pitch = 0, to_yaw = 0, to_pitch = 0;
  bool snap_pending = false;  // the aim cheats: turn onto the target as the attack goes out
  std::uint64_t seq = 0;
  struct Predicted {
    std::uint64_t seq;
    double x, z;
  };
  std::deque<Predicted> history;  // moves not yet confirmed by a snapshot

  double uniform(double lo, double hi) {
    return std::uniform_real_distribution<double>(lo, hi)(rng);
  }
  double lognormal(double median, double sigma) {
    return std::lognormal_distribution<double>(std::log(median), sigma)(rng);
  }
  double real(double e) const { return start + e / rate; }

  std::uint64_t link(double send, std::uint64_t& last) {
    while (spikes && send >= spike_end) {
      spike_at = spike_end + uniform(3'000, 15'000);
      spike_end = spike_at + uniform(300, 1'000);
    }
    double arrival = send + base_ms + uniform(0, jitter_ms);
    if (spikes && send >= spike_at) arrival = std::max(arrival, spike_end + base_ms);
    last = std::max(last, static_cast<std::uint64_t>(std::ceil(arrival)));  // in order
    return last;
  }

  // Client ms between discrete actions: humans are lognormal (never faster than the cooldown
  // they see), the skilled right at it, the rapid-fire cheat faster, the bot exact.
  double attack_interval() {
    switch (kind) {
      case Kind::kSkilled:
      case Kind::kHardHonest:
        return kCooldownMs + lognormal(20, 0.8);
      case Kind::kRapidFire:
        return lognormal(55, 0.25);
      case Kind::kBot:
        return 300;
      default:
        return std::max(kCooldownMs, lognormal(350, 0.45));
    }
  }
  double emote_interval() {
    return kind == Kind::kBot ? 1'000 : std::max(150.0, lognormal(1'500, 0.9));
  }
  void new_waypoint() {
    wx = hx + uniform(-300, 300);
    wz = hz + uniform(-300, 300);
  }
  // One frame's step towards (tx, tz); true when there.
  bool walk_to(double tx, double tz) {
    const double step = pace * speed_factor * 10;  // max_speed_per_tick per 50 ms frame
    const double ddx = tx - x, ddz = tz - z, d = std::hypot(ddx, ddz);
    if (d <= step) {
      x = tx;
      z = tz;
      return true;
    }
    x += ddx / d * step;
    z += ddz / d * step;
    return false;
  }

  double normal(double sigma) { return std::normal_distribution<double>(0, sigma)(rng); }
  double target_yaw() const { return std::atan2(dz - z, dx - x) * 180 / M_PI; }
  crdt::Vec3 aim_vector() const {
    const double y = yaw * M_PI / 180, p = pitch * M_PI / 180;
    return {std::cos(y) * std::cos(p), std::sin(p), std::sin(y) * std::cos(p)};
  }
  // A turn from where the aim is to the target plus a shot's spread, over `ms`.
  void turn(Stage next, double e, double spread, double ms) {
    stage = next;
    from_yaw = yaw;
    from_pitch = pitch;
    to_yaw = target_yaw() + normal(spread);
    to_pitch = normal(spread);
    stage_start = e;
    stage_end = e + ms;
  }
  void hold(double e) {
    stage = kTrack;
    from_yaw = to_yaw = yaw;
    from_pitch = to_pitch = pitch;
    stage_start = stage_end = e;
  }
  // The aim as it is at client time e (e never goes back).
  void aim_to(double e) {
    const double dt = std::max(0.0, e - aim_e);
    aim_e = e;
    switch (stage) {
      case kLook:
      case kAway: {  // turning at up to 360°/s: to the heading, or away to look around
        const double d = wrap((stage == kLook ? heading : away_yaw) - yaw), m = 0.36 * dt;
        yaw = wrap(yaw + std::clamp(d, -m, m));
        pitch *= 0.5;
        break;
      }
      case kScan:
      case kReact: {  // looking around, towards the target's side but never onto it
        const double off = wrap(yaw - target_yaw());
        double next = off - (off > 0 ? 1 : -1) * scan_speed * dt / 1000;
        if (std::abs(next) < 8 || (next > 0) != (off > 0)) next = off > 0 ? 8 : -8;
        if (std::abs(off) < 8) next = off;
        yaw = wrap(target_yaw() + next);
        break;
      }
      case kFlick:
      case kSettle:
      case kTrack: {
        const double span = stage_end - stage_start;
        const double s = span > 0 ? min_jerk((e - stage_start) / span) : 1;
        yaw = wrap(from_yaw + wrap(to_yaw - from_yaw) * s);
        pitch = from_pitch + (to_pitch - from_pitch) * s;
        break;
      }
    }
  }
  // The aim stage that ends at e (kAway, kReact, kFlick, kSettle).
  void aim_event(double e) {
    aim_to(e);
    switch (stage) {
      case kAway:
        stage = kScan;
        break;
      case kReact:
        if (kind == Kind::kAimSnap) {
          // Human so far; now onto the target (with a human's spread) in one step, firing.
          if (cheat_from < 0) cheat_from = real(e);
          hold(e);
          snap_pending = true;
          e_attack = e + uniform(1, 15);
        } else {
          const double a = std::hypot(wrap(target_yaw() - yaw), pitch);
          turn(kFlick, e, 2 * skill.sigma, std::max(60 + 1.5 * a, 1.875 * a / skill.omega * 1000));
        }
        break;
      case kFlick:
        if (uniform(0, 1) < skill.flick_shot) {  // fires as the flick ends, unsettled
          hold(e);
          e_attack = e + 1;
        } else {
          turn(kSettle, e, skill.sigma, lognormal(skill.settle_ms, 0.3));
        }
        break;
      case kSettle:
        hold(e);
        e_attack = e + std::max(1.0, lognormal(skill.fire_ms, 0.4));
        break;
      default:
        break;
    }
  }
  double aim_event_at() const {
    return phase == kFight &&
                   (stage == kAway || stage == kReact || stage == kFlick || stage == kSettle)
               ? stage_end
               : 1e18;
  }

  void send(region::Action a, ActionKind kind_of, double e) {
    a.actor = id;
    a.client_seq = ++seq;
    a.client_time_ms = static_cast<std::uint64_t>(std::llround(start + offset + e));
    const std::uint64_t arrival = link(real(e), last_up);
    up.emplace_back(arrival, region::Submission{static_cast<int>(kind_of), std::move(a)});
  }

  void frame(double e) {
    const double ox = x, oz = z;
    switch (phase) {
      case kWalk:
        if (walk_to(wx, wz)) {
          if (uniform(0, 1) < 0.5) {
            const double ddx = x - dx, ddz = z - dz, d = std::max(1e-6, std::hypot(ddx, ddz));
            sx = dx + ddx / d * stand;
            sz = dz + ddz / d * stand;
            phase = kApproach;
          } else {
            new_waypoint();
          }
        }
        break;
      case kApproach:
        if (walk_to(sx, sz)) {
          // At its spot: it glances around (away from the dummy), then looks for it.
          phase = kFight;
          fight_end = e + uniform(4'000, 9'000);
          e_attack = 1e18;  // nothing to fire at until it has the dummy in its sights
          stage = kAway;
          away_yaw = wrap(target_yaw() + (uniform(0, 1) < 0.5 ? 1 : -1) * uniform(90, 170));
          stage_end = e + uniform(400, 1'500);
          scan_speed = uniform(30, 80);
        }
        break;
      case kFight:
        // Pulled away from its spot by a correction: back to it.
        if (std::hypot(x - sx, z - sz) > 0.01) walk_to(sx, sz);
        if (e >= fight_end) {
          phase = kWalk;
          stage = kLook;
          snap_pending = false;
          new_waypoint();
          e_emote = e + emote_interval();
        }
        break;
    }
    if (std::hypot(x - ox, z - oz) > 1e-9) heading = std::atan2(z - oz, x - ox) * 180 / M_PI;
    aim_to(e);
    // The dummy comes into view: a human reacts; the aimbot fires at once, locked on.
    if (phase == kFight && stage == kScan &&
        std::hypot(wrap(yaw - target_yaw()), pitch) <= kViewDeg) {
      if (kind == Kind::kAimbot) {
        if (cheat_from < 0) cheat_from = real(e);
        hold(e);
        snap_pending = true;
        e_attack = e + uniform(1, 30);
      } else {
        stage = kReact;
        stage_start = e;
        stage_end = e + lognormal(skill.reaction_ms, 0.25);
      }
    }
    if (kind == Kind::kTeleport && e >= e_teleport) {  // whatever it is doing
      if (cheat_from < 0) cheat_from = real(e);
      const double a = uniform(0, 2 * M_PI), jump = uniform(40, 80);
      x += std::cos(a) * jump;
      z += std::sin(a) * jump;
      e_teleport = e + uniform(3'000, 6'000);
    }
    region::Action a;
    a.position = {x, 0, z};
    a.aim = aim_vector();
    send(a, ActionKind::kMove, e);
    history.push_back({seq, x, z});
    if (history.size() > 400) history.pop_front();
  }

  // Everything the client does up to real time `now`, in its own order.
  void play(double now) {
    for (;;) {
      const bool fighting = phase == kFight && e_attack < fight_end;
      const double e_discrete = fighting ? e_attack : phase == kWalk ? e_emote : 1e18;
      const double e_aim = aim_event_at();
      const double e = std::min({e_frame, e_discrete, e_aim});
      if (real(e) > now) return;
      if (e == e_aim) {
        aim_event(e);
      } else if (e == e_frame) {
        frame(e);
        e_frame += kFrameMs;
      } else if (fighting) {
        // An honest client swings only at a target it sees in range (its predicted position).
        if (kind == Kind::kReach || std::hypot(x - dx, z - dz) <= 5) {
          if (cheat_from < 0 && (kind == Kind::kReach || kind == Kind::kRapidFire)) {
            cheat_from = real(e);
          }
          aim_to(e);
          if (snap_pending) {  // the aim cheats: onto the target in this one step
            yaw = target_yaw() + normal(kind == Kind::kAimbot ? 0.3 : skill.sigma);
            pitch = normal(kind == Kind::kAimbot ? 0.3 : skill.sigma);
            snap_pending = false;
          }
          region::Action a;
          a.target = kDummyBase + id;
          a.aim = aim_vector();
          send(a, ActionKind::kAttack, e);
        }
        // Between shots the aim drifts to where the next one will land: a human's spread; the
        // aimbot stays locked on.
        // (Each shot's spread is its own: the drift ends before the next shot, however soon.)
        aim_to(e);
        const double next = attack_interval();
        if (kind == Kind::kAimbot) {
          yaw = target_yaw() + normal(0.3);
          pitch = normal(0.3);
          hold(e);
        } else {
          turn(kTrack, e, skill.sigma, std::min(150.0, 0.8 * next));
        }
        e_attack = e + next;
      } else {
        region::Action a;
        a.text = "gg";
        send(a, ActionKind::kEmote, e);
        e_emote = e + emote_interval();
      }
    }
  }

  // A state frame from the server: where it has the player after `seq`.
  void reconcile(const Snapshot& s) {
    while (history.size() > 1 && history[1].seq <= s.seq)
      history.pop_front();
    if (history.empty() || history.front().seq > s.seq) return;
    const double ox = s.x - history.front().x, oz = s.z - history.front().z;
    history.pop_front();
    if (std::hypot(ox, oz) <= kReconcileUnits) return;
    // Replay: the moves not yet confirmed were steps from a position that was off by (ox, oz).
    x += ox;
    z += oz;
    for (Predicted& p : history) {
      p.x += ox;
      p.z += oz;
    }
  }
};

void configure(Client& c, Kind kind) {
  c.kind = kind;
  c.hx = c.uniform(-3'000, 3'000);
  c.hz = c.uniform(-3'000, 3'000);
  c.dx = c.hx + c.uniform(-60, 60);
  c.dz = c.hz + c.uniform(-60, 60);
  c.x = c.hx;
  c.z = c.hz;
  c.new_waypoint();
  c.start = static_cast<double>(kStartMs) + c.uniform(0, 2'000);
  c.offset = c.uniform(-3'000, 3'000);
  c.rate = 1 + std::normal_distribution<double>(0, 30e-6)(c.rng);  // quartz: tens of ppm
  c.base_ms = c.uniform(15, 100);
  c.jitter_ms = c.uniform(0, 40);
  c.pace = c.uniform(0, 1) < 0.7 ? 1.0 : c.uniform(0.5, 1.0);
  c.stand = c.uniform(2, 4.5);
  c.e_emote = c.emote_interval();
  const bool skilled = kind == Kind::kSkilled || kind == Kind::kHardHonest;
  if (kind == Kind::kLagSpikes || kind == Kind::kHardHonest) {
    c.spikes = true;
    c.spike_at = c.start + c.uniform(3'000, 15'000);
    c.spike_end = c.spike_at + c.uniform(300, 1'000);
  }
  if (kind == Kind::kJittery || kind == Kind::kHardHonest) c.jitter_ms = 150;
  if (skilled) {
    c.pace = 1;
    c.stand = c.uniform(4.6, 5.0);  // at the edge of range
    // Aims very well: a tight spread, quick reactions and flicks, a short settle, and one
    // shot in ten fired as the flick ends.
    c.skill = AimSkill{c.uniform(4.2, 5.5), 210, c.uniform(800, 1'500), 70, 0.1, 25};
  } else {
    c.skill = AimSkill{c.uniform(5.5, 8.5), 250, c.uniform(400, 800), 110, 0.03, 50};
  }
  c.yaw = c.heading = c.uniform(-180, 180);
  switch (kind) {
    case Kind::kSpeed10:
      c.pace = 1;
      c.speed_factor = 1.1;
      break;
    case Kind::kSpeed50:
      c.pace = 1;
      c.speed_factor = 1.5;
      break;
    case Kind::kTeleport:
      c.e_teleport = c.uniform(1'000, 4'000);
      break;
    case Kind::kClock5:
      c.rate = 1.05;
      break;
    case Kind::kReach:
      c.stand = c.uniform(1.3, 2.0) * 5;
      break;
    default:
      break;
  }
}

}  // namespace

const std::array<KindInfo, kKinds>& kinds() {
  static const std::array<KindInfo, kKinds> table = {{
      {"honest", false, "honest", 100},
      {"honest_lag_spikes", false, "honest", 100},
      {"honest_jittery", false, "honest", 75},
      {"honest_skilled", false, "honest", 75},
      {"honest_all_three", false, "honest", 50},
      {"speed_10", true, "subtle", 40},
      {"speed_50", true, "blatant", 40},
      {"teleport", true, "blatant", 40},
      {"clock_5", true, "subtle", 40},
      {"rapid_fire", true, "blatant", 40},
      {"reach", true, "other", 40},
      {"bot", true, "other", 40},
      {"aim_snap", true, "subtle", 40},
      {"aimbot", true, "blatant", 40},
  }};
  return table;
}

std::vector<PlayerResult> run_population(const RunOptions& o, RunStats* stats) {
  const auto wall_start = std::chrono::steady_clock::now();
  replica::ComponentRegistry registry = replica::ComponentRegistry::game_defaults();
  DiscardingJournal journal;
  testing::NullOutbox outbox;
  crdt::ManualClock wall{kStartMs};
  crdt::HlcClock clock{1, wall, 10'000};
  replica::Replica world{replica::ReplicaOptions{1, {}}, registry, journal, outbox};
  region::GameConfig game;
  game.spawn_health = 1'000'000'000;  // dummies (and players) never die during a run
  region::GameRules rules{game};
  ac::AnticheatConfig config = o.detector;
  config.pace = rules.move_pace();
  config.attack_range = game.attack_range;
  config.pickup_range = game.pickup_range;
  ac::Detector detector{config};

  std::vector<Client> clients;
  for (int k = 0; k < kKinds; ++k) {
    const int n =
        static_cast<int>(std::lround(kinds()[static_cast<std::size_t>(k)].per_run * o.scale));
    for (int i = 0; i < n; ++i) {
      Client c;
      c.id = static_cast<ActorId>(clients.size() + 1);
      c.rng.seed(o.seed * 1'000'003 + c.id);
      configure(c, static_cast<Kind>(k));
      clients.push_back(std::move(c));
    }
  }
  for (const Client& c : clients) {
    rules.spawn(world, c.id, {c.hx, 0, c.hz}, clock);
    rules.spawn(world, kDummyBase + c.id, {c.dx, 0, c.dz}, clock);
  }
  (void)world.commit(0);
  region::PipelineOptions po;
  po.partition.workers = 1;  // one worker: the run is deterministic and leaves a core free
  region::RegionPipeline pipeline{po, region::PriorityRules::defaults(), rules, world, clock};
  std::vector<PlayerResult> out(clients.size());
  for (std::size_t i = 0; i < clients.size(); ++i)
    out[i].kind = clients[i].kind;
  CountingObserver observer{detector, out};
  pipeline.set_observer(&observer);

  std::uint64_t tick = 0, actions = 0, flags = 0;
  const auto ticks = static_cast<std::uint64_t>(o.seconds * 1000 / kTickMs);
  for (std::uint64_t t = 0; t < ticks; ++t) {
    const std::uint64_t now = wall.now_ms();
    for (Client& c : clients) {
      c.play(static_cast<double>(now));
      while (!c.up.empty() && c.up.front().first <= now) {
        region::Submission& s = c.up.front().second;
        (void)pipeline.submit(s.raw_kind, std::move(s.action), now);
        c.up.pop_front();
        ++actions;
      }
    }
    wall.advance(kTickMs);
    (void)pipeline.tick(++tick);
    (void)world.commit(wall.now_ms());
    for (const ac::Flag& f : detector.take_flags()) {
      ++flags;
      PlayerResult& r = out.at(f.player - 1);
      if (r.detected_s) continue;
      const Client& c = clients[f.player - 1];
      const double from = c.cheat_from >= 0 ? c.cheat_from : c.start;
      r.detected_s = std::max(0.0, static_cast<double>(f.server_ms) - from) / 1000;
      for (const ac::CheckValue& v : f.fired)
        r.first_checks += std::string(r.first_checks.empty() ? "" : "+") + ac::to_string(v.check);
    }
    const std::uint64_t after = wall.now_ms();
    for (std::size_t i = 0; i < clients.size(); ++i) {
      Client& c = clients[i];
      if (const auto rep = detector.report(c.id)) {
        out[i].max_z = std::max(out[i].max_z, rep->score);
        out[i].final_z = rep->score;
        for (std::size_t k = 0; k < ac::kChecks; ++k)
          out[i].max_feature[k] = std::max(out[i].max_feature[k], rep->checks[k].feature);
      }
      if (const auto pos = region::GameRules::position(world, c.id)) {
        const std::uint64_t arrival = c.link(static_cast<double>(after), c.last_down);
        c.down.push_back({arrival, pos->x, pos->z, pipeline.processed_seq(c.id)});
      }
      while (!c.down.empty() && c.down.front().arrival <= after) {
        c.reconcile(c.down.front());
        c.down.pop_front();
      }
    }
  }
  if (stats) {
    stats->ticks = tick;
    stats->actions = actions;
    stats->flags = flags;
    stats->wall_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  }
  return out;
}

}  // namespace worldline::bench_ac
