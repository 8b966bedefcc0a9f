#include "region/anticheat/detector.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace worldline::region::anticheat {
namespace {

constexpr std::array<const char*, kChecks> kCheckNames = {"speed", "teleport", "rapid_fire",
                                                          "reach", "clock",    "bot_timing"};

double sigmoid(double z) {
  return 1.0 / (1.0 + std::exp(-z));
}

// Discrete actions: the ones a bot's timing shows in (moves come at the client's frame rate,
// regular for honest clients too).
bool discrete(ActionKind kind) {
  return kind != ActionKind::kMove;
}

}  // namespace

const char* to_string(Check check) {
  const auto i = static_cast<std::size_t>(check);
  return i < kCheckNames.size() ? kCheckNames[i] : "unknown";
}

struct Detector::Player {
  std::uint64_t observed = 0;
  std::uint64_t last_tick = 0;
  // speed: the previous move (the client's ms, the region's tick) and the open window: the
  // distance asked and the time it took, in ms
  std::uint64_t last_move_ms = 0, last_move_tick = 0;
  bool moved = false;
  crdt::Vec3 last_to;                                  // the previous move's destination
  std::uint32_t window_moves = 0, window_clamped = 0;  // in the open window
  double window_asked = 0, window_ms = 0;
  std::uint64_t last_attack_ms = 0;  // the client's clock
  Cusum speed, teleport, rapid_fire, reach;
  // clock: the open second (server time) and the largest client − server offset in it
  std::uint64_t second = 0;
  double second_max = -std::numeric_limits<double>::infinity();
  DriftLine clock;
  // timing of discrete actions, by the client's clock
  std::uint64_t last_discrete_ms = 0;
  IntervalShape timing;
  // the last kEvidenceWindow actions, a ring
  std::array<EvidenceEntry, kEvidenceWindow> ring{};
  std::uint8_t ring_next = 0, ring_size = 0;
  // the last flag
  bool flagged = false;
  std::uint64_t flagged_tick = 0;
};

Detector::Shard::~Shard() = default;

Detector::Detector(AnticheatConfig config) : config_(std::move(config)) {
  set_calibration(config_.calibration_a, config_.calibration_b);
}

void Detector::set_calibration(double a_new, double b_new) {
  config_.calibration_a = a_new;
  config_.calibration_b = b_new;
  // σ(a·z + b) ≥ flag_at ⇔ z ≥ (logit(flag_at) − b) / a for a > 0 (a little below, so the
  // exact test decides at the edge); otherwise every action takes the exact test.
  const double a = config_.calibration_a, f = config_.flag_at;
  flag_score_ = a > 0 && f > 0 && f < 1 ? (std::log(f / (1 - f)) - config_.calibration_b) / a - 1e-9
                                        : -std::numeric_limits<double>::infinity();
}

std::size_t Detector::bytes_per_player() {
  // The record, its slot in the shard's table (key, pointer, control byte) and the allocator's
  // header, roughly.
  return sizeof(Player) + sizeof(ActorId) + sizeof(void*) + 1 + 16;
}

void Detector::observe(const Action& a, const Outcome& o, std::uint64_t tick) {
  if (!config_.enabled) return;
  Shard& shard = shards_[a.actor % kShards];
  std::lock_guard<std::mutex> lock(shard.mutex);
  ++shard.observed;
  std::unique_ptr<Player>& slot = shard.players[a.actor];
  if (!slot) slot = std::make_unique<Player>();
  Player& p = *slot;
  const AnticheatConfig& c = config_;
  const double speed = std::max(1e-9, c.pace.speed_per_tick);

  // Time passing: counting evidence is forgotten.
  if (p.observed && tick > p.last_tick) {
    const auto dt = static_cast<double>(tick - p.last_tick);
    p.teleport.fall(dt, c.forget_per_tick);
    p.rapid_fire.fall(dt, c.forget_per_tick);
    p.reach.fall(dt, c.forget_per_tick);
  }
  p.last_tick = std::max(p.last_tick, tick);
  ++p.observed;

  EvidenceEntry& e = p.ring[p.ring_next];
  e = EvidenceEntry{a.client_seq,
                    tick,
                    a.client_time_ms,
                    a.stamp.physical_ms,
                    static_cast<float>(a.position.x),
                    static_cast<float>(a.position.z),
                    o.asked,
                    o.granted,
                    o.reach,
                    a.kind,
                    o.limit,
                    o.ok};
  p.ring_next = static_cast<std::uint8_t>((p.ring_next + 1) % kEvidenceWindow);
  p.ring_size = static_cast<std::uint8_t>(std::min<std::size_t>(p.ring_size + 1, kEvidenceWindow));

  // clock: one point per second of server time, the largest offset in it (the least delayed
  // arrival: network delay only ever lowers client − server).
  if (a.client_time_ms && a.stamp.physical_ms) {
    const std::uint64_t second = a.stamp.physical_ms / 1000;
    const double offset =
        static_cast<double>(a.client_time_ms) - static_cast<double>(a.stamp.physical_ms);
    if (second != p.second && std::isfinite(p.second_max)) {
      p.clock.add(static_cast<double>(p.second) * 1000.0, p.second_max, c.clock_decay);
      p.second_max = -std::numeric_limits<double>::infinity();
    }
    p.second = second;
    p.second_max = std::max(p.second_max, offset);
  }

  switch (a.kind) {
    case ActionKind::kMove: {
      // The time since the previous move: by the client's clock when it has one (and it went
      // forward), else by the region's ticks.
      const double tick_ms = std::max(1e-9, c.tick_ms);
      double dt = 0;
      // The step the client took: from its previous destination to this one — not from where
      // the region has it (`asked`), which after a clamp counts the same divergence again in
      // every move until the client has reconciled. The first move: what it asked.
      double step = o.asked;
      if (p.moved) {
        dt = a.client_time_ms && p.last_move_ms && a.client_time_ms >= p.last_move_ms
                 ? static_cast<double>(a.client_time_ms - p.last_move_ms)
                 : static_cast<double>(tick - std::min(tick, p.last_move_tick)) * tick_ms;
        const double dx = a.position.x - p.last_to.x, dy = a.position.y - p.last_to.y,
                     dz = a.position.z - p.last_to.z;
        step = std::sqrt(dx * dx + dy * dy + dz * dz);
      }
      p.moved = true;
      p.last_move_ms = a.client_time_ms;
      p.last_move_tick = tick;
      p.last_to = a.position;
      // Every move counts towards the share the movement budget clamped or refused: a client
      // that reconciles to the region's position (rubber-banding) asks for only a little more
      // than it is granted, every time.
      ++p.window_moves;
      if (o.limit == Limit::kMoveBudget) ++p.window_clamped;
      // Only steps at full speed measure the pace: standing still or strolling is no evidence
      // of a top speed.
      const double allowed = speed / tick_ms * std::min(dt, 1000.0);
      if (step > 0 && step >= c.full_speed * allowed) {
        p.window_asked += step;
        p.window_ms += std::min(dt, 1000.0);
        const double window = std::max<std::uint32_t>(1, c.window_ticks) * tick_ms;
        if (p.window_ms >= window) {
          const double r = p.window_asked / (speed / tick_ms * p.window_ms);
          const double clamped =
              static_cast<double>(p.window_clamped) / std::max<std::uint32_t>(1, p.window_moves);
          p.speed.add(std::min(r, 1.5) - 1.0 + std::max(0.0, clamped - c.clamp_allowance),
                      c.speed.allowance);
          p.window_asked = 0;
          p.window_ms = 0;
          p.window_moves = p.window_clamped = 0;
        }
      }
      // One step further than teleport_ticks ticks' worth: clients send a move per frame, so
      // even the burst after a stall is many short steps (the movement budget may grant a long
      // one from an idle player's credit; it is still a jump).
      if (step > c.teleport_ticks * speed) p.teleport.add(1, c.teleport.allowance);
      break;
    }
    case ActionKind::kAttack: {
      // Too soon by the client's own clock: network jitter bunches honest attacks into
      // refusals on the region's ticks, but never changes when the client sent them.
      bool soon = o.limit == Limit::kCooldown;
      if (a.client_time_ms) {
        const double cooldown_ms = c.attack_cooldown_ticks * c.tick_ms;
        soon = p.last_attack_ms && a.client_time_ms >= p.last_attack_ms &&
               static_cast<double>(a.client_time_ms - p.last_attack_ms) <
                   (1 - c.rapid_fire_margin) * cooldown_ms;
        p.last_attack_ms = a.client_time_ms;
      }
      p.rapid_fire.add(soon ? 1 : 0, c.rapid_fire.allowance);
      if (o.reach >= 0) {
        p.reach.add(o.reach > c.attack_range * (1 + c.reach_margin) ? 1 : 0, c.reach.allowance);
      }
      break;
    }
    case ActionKind::kPickup:
      if (o.reach >= 0) {
        p.reach.add(o.reach > c.pickup_range * (1 + c.reach_margin) ? 1 : 0, c.reach.allowance);
      }
      break;
    default:
      break;
  }
  if (discrete(a.kind) && a.client_time_ms) {
    if (p.last_discrete_ms && a.client_time_ms > p.last_discrete_ms &&
        a.client_time_ms - p.last_discrete_ms < 10'000) {
      p.timing.add(static_cast<double>(a.client_time_ms - p.last_discrete_ms), c.timing_decay);
    }
    p.last_discrete_ms = a.client_time_ms;
  }

  // Cheap first: flagged lately, or a score below the one the flag needs (no report, no
  // exponential — this runs for every action).
  if (p.flagged && tick < p.flagged_tick + c.reflag_ticks) return;
  const auto threshold = [](const Cusum& s, const CusumParams& params) {
    return s.sum / std::max(1e-9, params.threshold);
  };
  if (score({threshold(p.speed, c.speed), threshold(p.teleport, c.teleport),
             threshold(p.rapid_fire, c.rapid_fire), threshold(p.reach, c.reach), clock_feature(p),
             bot_feature(p)}) < flag_score_) {
    return;
  }
  const PlayerReport r = evaluate(a.actor, p);
  if (r.confidence < c.flag_at) return;
  p.flagged = true;
  p.flagged_tick = tick;
  Flag f;
  f.id = (static_cast<std::uint64_t>(c.region) << 40) | (++shard.flags * kShards) |
         (a.actor % kShards);
  f.player = a.actor;
  f.tick = tick;
  f.server_ms = a.stamp.physical_ms;
  f.confidence = r.confidence;
  f.all = r.checks;
  for (const CheckValue& v : r.checks) {
    if (v.feature >= 1) f.fired.push_back(v);
  }
  std::sort(f.fired.begin(), f.fired.end(),
            [](const CheckValue& x, const CheckValue& y) { return x.feature > y.feature; });
  for (const CheckValue& v : f.fired)
    ++shard.fired[static_cast<std::size_t>(v.check)];
  f.evidence.reserve(p.ring_size);
  for (std::size_t i = 0; i < p.ring_size; ++i) {
    f.evidence.push_back(
        p.ring[(p.ring_next + kEvidenceWindow - p.ring_size + i) % kEvidenceWindow]);
  }
  if (shard.raised.size() >= std::max<std::size_t>(1, c.max_flags / kShards)) {
    shard.raised.erase(shard.raised.begin());
    ++shard.dropped;
  }
  shard.raised.push_back(std::move(f));
}

double Detector::clock_feature(const Player& p) const {
  const AnticheatConfig& c = config_;
  if (p.clock.points() < c.clock_min_points) return 0;
  return std::max(0.0, std::abs(p.clock.slope()) - c.clock_allowance) /
         std::max(1e-9, c.clock_threshold);
}

double Detector::bot_feature(const Player& p) const {
  const AnticheatConfig& c = config_;
  if (p.timing.count() < c.bot_min_intervals) return 0;
  return std::clamp(std::max(2.0 - p.timing.cv() / std::max(1e-9, c.bot_cv),
                             p.timing.repeats() / std::max(1e-9, c.bot_repeats)),
                    0.0, 3.0);
}

double Detector::score(const std::array<double, kChecks>& features) const {
  const AnticheatConfig& c = config_;
  const std::array<double, kChecks> weights = {c.speed.weight,      c.teleport.weight,
                                               c.rapid_fire.weight, c.reach.weight,
                                               c.clock_weight,      c.bot_weight};
  double z = c.bias;
  for (std::size_t i = 0; i < kChecks; ++i)
    z += std::max(0.0, weights[i]) * std::min(features[i], 3.0);
  return z;
}

PlayerReport Detector::evaluate(ActorId id, const Player& p) const {
  const AnticheatConfig& c = config_;
  PlayerReport r;
  r.player = id;
  r.observed = p.observed;
  auto cusum = [](Check check, const Cusum& s, const CusumParams& params) {
    return CheckValue{check, s.sum / std::max(1e-9, params.threshold), s.sum, params.threshold};
  };
  r.checks[0] = cusum(Check::kSpeed, p.speed, c.speed);
  r.checks[1] = cusum(Check::kTeleport, p.teleport, c.teleport);
  r.checks[2] = cusum(Check::kRapidFire, p.rapid_fire, c.rapid_fire);
  r.checks[3] = cusum(Check::kReach, p.reach, c.reach);
  // ms of client clock per ms of server clock, − 0
  r.checks[4] = CheckValue{Check::kClock, clock_feature(p), p.clock.slope(),
                           c.clock_allowance + c.clock_threshold};
  // The statistic shown is the share of repeats (the CV catches only single-rhythm scripts).
  r.checks[5] = CheckValue{Check::kBotTiming, bot_feature(p), p.timing.repeats(), c.bot_repeats};
  std::array<double, kChecks> features;
  for (std::size_t i = 0; i < kChecks; ++i)
    features[i] = r.checks[i].feature;
  r.score = score(features);
  r.confidence = sigmoid(c.calibration_a * r.score + c.calibration_b);
  return r;
}

std::vector<Flag> Detector::take_flags() {
  std::vector<Flag> out;
  for (Shard& s : shards_) {
    std::lock_guard<std::mutex> lock(s.mutex);
    for (Flag& f : s.raised)
      out.push_back(std::move(f));
    s.raised.clear();
  }
  std::sort(out.begin(), out.end(), [](const Flag& x, const Flag& y) {
    return std::tie(x.tick, x.player) < std::tie(y.tick, y.player);
  });
  return out;
}

std::optional<PlayerReport> Detector::report(ActorId player) const {
  const Shard& s = shards_[player % kShards];
  std::lock_guard<std::mutex> lock(s.mutex);
  auto it = s.players.find(player);
  if (it == s.players.end()) return std::nullopt;
  return evaluate(player, *it->second);
}

DetectorStats Detector::stats() const {
  DetectorStats out;
  for (const Shard& s : shards_) {
    std::lock_guard<std::mutex> lock(s.mutex);
    out.observed += s.observed;
    out.flags += s.flags;
    out.dropped_flags += s.dropped;
    out.players += s.players.size();
    for (std::size_t i = 0; i < kChecks; ++i)
      out.fired[i] += s.fired[i];
  }
  return out;
}

}  // namespace worldline::region::anticheat
