#include "region/anticheat/detector.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <limits>
#include <mutex>
#include <new>
#include <utility>

#include <boost/unordered/unordered_flat_map.hpp>

#include "region/anticheat/evidence_ring.h"

namespace worldline::region::anticheat {
namespace {

constexpr std::array<const char*, kChecks> kCheckNames = {"speed", "teleport", "rapid_fire",
                                                          "reach", "clock",    "bot_timing",
                                                          "snap",  "reaction", "hit_ratio"};

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

// A player's record, stored in its shard's table (the key before it): laid out so the fields
// every action touches are in the slot's first two cache lines, a move's in the third, a
// discrete action's in the fifth; the clock's line (the fourth) is written once a second. The
// evidence ring is apart (Shard::rings), packed, and written a cache line (two actions) at a
// time: an action's entry waits in the record for the next one (`pending`), so the ring, which
// is cold, takes one write miss per two actions instead of one per action.
struct Detector::Player {
  // line 1 (after the key): every action
  std::uint64_t last_tick = 0;
  Cusum speed, teleport, rapid_fire, reach;
  std::uint32_t observed = 0;  // saturates
  std::uint32_t ring = 0;      // its evidence ring in the shard's
  // clock: the open second of server time (its low 32 bits: one a second wraps in 2106)
  std::uint32_t second = 0;
  // the evidence window: the position of the next entry (odd: the one before it is `pending`)
  // and how many of the last kEvidenceWindow actions are kept
  std::uint8_t ring_next = 0, ring_size = 0;
  bool moved = false, flagged = false;
  // line 2: every action — the last flag, the largest client − server offset in the open
  // second, the slower checks' features as last computed (they change only when their
  // statistic takes a point), the newest action's entry if it is the first of a pair
  std::uint64_t flagged_tick = 0;
  double second_max = -std::numeric_limits<double>::infinity();
  double clock_now = 0, bot_now = 0;
  PackedEvidence pending;
  // line 3: moves — the previous move (its destination, the client's ms, the region's tick) and
  // the open window: the distance asked and the time it took, in ms
  crdt::Vec3 last_to;
  double window_asked = 0, window_ms = 0;
  std::uint32_t window_moves = 0, window_clamped = 0;  // in the open window
  std::uint64_t last_move_ms = 0, last_move_tick = 0;
  // line 4: a point a second
  DriftLine clock;
  std::uint64_t pad4 = 0;
  // line 5: discrete actions — their timing and the last attack, by the client's clock
  IntervalShape timing;
  std::uint64_t last_discrete_ms = 0, last_attack_ms = 0;
  std::uint64_t pad5 = 0;
  // lines 6 on: the aim checks (aimed moves and attacks; aim.h), padded to whole lines
  AimTrack aim;
  std::array<std::uint8_t, (64 - sizeof(AimTrack) % 64) % 64> pad_aim{};
};

namespace {

using Slot = std::pair<const ActorId, Detector::Player>;
static_assert(sizeof(Slot) == 5 * 64 + (sizeof(AimTrack) + 63) / 64 * 64,
              "a record is five whole cache lines and the aim checks' whole lines");
static_assert(offsetof(Detector::Player, aim) == 5 * 64 - sizeof(ActorId));
static_assert(offsetof(Detector::Player, flagged_tick) == 64 - sizeof(ActorId));
static_assert(offsetof(Detector::Player, pending) ==
              2 * 64 - sizeof(ActorId) - sizeof(PackedEvidence));
static_assert(offsetof(Detector::Player, last_to) == 2 * 64 - sizeof(ActorId));
static_assert(offsetof(Detector::Player, clock) == 3 * 64 - sizeof(ActorId));
static_assert(offsetof(Detector::Player, timing) == 4 * 64 - sizeof(ActorId));

// Allocates on cache-line boundaries: the table's slots (whole lines each) start on one, so a
// record's first line holds its key and the fields every action touches.
template <class T>
struct LineAllocator {
  using value_type = T;
  LineAllocator() = default;
  template <class U>
  LineAllocator(const LineAllocator<U>&) {}  // NOLINT: rebinding
  T* allocate(std::size_t n) {
    return static_cast<T*>(::operator new (n * sizeof(T), std::align_val_t{64}));
  }
  void deallocate(T* p, std::size_t) { ::operator delete (p, std::align_val_t{64}); }
  template <class U>
  bool operator==(const LineAllocator<U>&) const {
    return true;
  }
};

}  // namespace

struct alignas(64) Detector::Shard {
  mutable std::mutex mutex;
  boost::unordered_flat_map<ActorId, Player, boost::hash<ActorId>, std::equal_to<ActorId>,
                            LineAllocator<Slot>>
      players;                                         // GUARDED_BY(mutex)
  std::vector<EvidenceRing> rings;                     // GUARDED_BY(mutex); Player::ring
  std::vector<Flag> raised;                            // GUARDED_BY(mutex)
  std::uint64_t observed = 0, flags = 0, dropped = 0;  // GUARDED_BY(mutex)
  std::array<std::uint64_t, kChecks> fired{};          // GUARDED_BY(mutex)
};

Detector::Detector(AnticheatConfig config)
    : config_(std::move(config)), shards_(std::make_unique<Shard[]>(kShards)) {
  const AnticheatConfig& c = config_;
  weights_ = {c.speed.weight,    c.teleport.weight,     c.rapid_fire.weight,
              c.reach.weight,    c.clock_weight,        c.bot_weight,
              c.aim.snap_weight, c.aim.reaction_weight, c.aim.hit_weight};
  for (double& w : weights_)
    w = std::max(0.0, w);
  const std::array<double, 4> thresholds = {c.speed.threshold, c.teleport.threshold,
                                            c.rapid_fire.threshold, c.reach.threshold};
  for (std::size_t i = 0; i < thresholds.size(); ++i)
    inverse_threshold_[i] = 1 / std::max(1e-9, thresholds[i]);
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

Detector::~Detector() = default;

std::size_t Detector::bytes_per_player() {
  // The record with its key, its control byte in the table and its evidence ring (the table's
  // free slots — it grows at 7/8 full — not counted).
  return sizeof(Slot) + 1 + sizeof(EvidenceRing);
}

void Detector::observe(const Action& a, const Outcome& o, std::uint64_t tick) {
  if (!config_.enabled) return;
  Shard& shard = shards_[a.actor % kShards];
  std::lock_guard<std::mutex> lock(shard.mutex);
  ++shard.observed;
  auto [slot, fresh] = shard.players.try_emplace(a.actor);
  Player& p = slot->second;
  if (fresh) {
    p.ring = static_cast<std::uint32_t>(shard.rings.size());
    shard.rings.emplace_back();
  }
  const AnticheatConfig& c = config_;
  const double speed = std::max(1e-9, c.pace.speed_per_tick);

  // Time passing: counting evidence is forgotten.
  if (p.observed && tick > p.last_tick) {
    const auto dt = static_cast<double>(tick - p.last_tick);
    p.teleport.fall(dt, c.forget_per_tick);
    p.rapid_fire.fall(dt, c.forget_per_tick);
    p.reach.fall(dt, c.forget_per_tick);
    p.aim.fall(dt, c.aim.forget_per_tick);
  }
  p.last_tick = std::max(p.last_tick, tick);
  p.observed += p.observed != std::numeric_limits<std::uint32_t>::max();

  const PackedEvidence entry = pack(
      a.client_seq, tick, a.client_time_ms, a.stamp.physical_ms, static_cast<float>(a.position.x),
      static_cast<float>(a.position.z), o.asked, o.granted, o.reach, a.kind, o.limit, o.ok);
  if (p.ring_next % 2 == 0) {
    p.pending = entry;
  } else {  // a pair: one whole line of the ring
    PackedEvidence* line = &shard.rings[p.ring].entries[p.ring_next - 1];
    line[0] = p.pending;
    line[1] = entry;
  }
  p.ring_next = static_cast<std::uint8_t>((p.ring_next + 1) % kEvidenceWindow);
  if (p.ring_size < kEvidenceWindow) ++p.ring_size;

  // clock: one point per second of server time, the largest offset in it (the least delayed
  // arrival: network delay only ever lowers client − server).
  if (a.client_time_ms && a.stamp.physical_ms) {
    const auto second = static_cast<std::uint32_t>(a.stamp.physical_ms / 1000);
    const double offset =
        static_cast<double>(a.client_time_ms) - static_cast<double>(a.stamp.physical_ms);
    if (second != p.second && std::isfinite(p.second_max)) {
      p.clock.add(static_cast<double>(p.second) * 1000.0, p.second_max, c.clock_decay);
      p.clock_now = clock_feature(p);
      p.second_max = -std::numeric_limits<double>::infinity();
    }
    p.second = second;
    p.second_max = std::max(p.second_max, offset);
  }

  switch (a.kind) {
    case ActionKind::kMove: {
      // A move the rules refused for a reason of their own — the actor is dead, or unknown, or
      // a studio's rule said no — is no movement: nothing was granted or clamped, and a client
      // that does not know yet keeps predicting its walk while the region reconciles it to where
      // it lies. It is skipped as if never sent: the next judged move measures its step and its
      // time from the last judged one, so refused moves slipped between real ones neither add
      // evidence nor reset a window. (Seen end to end: honest players killed in a fight were
      // flagged for speed.)
      if (!o.ok && o.limit != Limit::kMoveBudget) break;
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
      // of a top speed. The first move has no time before it (dt = 0) and measures nothing: its
      // length, with no time to set against it, would read as any speed.
      const double allowed = speed / tick_ms * std::min(dt, 1000.0);
      if (dt > 0 && step > 0 && step >= c.full_speed * allowed) {
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
      // one from an idle player's credit; it is still a jump). And further from where the
      // region has the player (`asked`): a client whose earlier move was clamped — a region
      // that fell behind its ticks grants less than time allows — reconciles to the region's
      // position and steps on from there, which is a long step from its last destination but
      // no jump (seen end to end: skilled players flagged on an overloaded node).
      if (step > c.teleport_ticks * speed && o.asked > c.teleport_ticks * speed)
        p.teleport.add(1, c.teleport.allowance);
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
  if (a.aim) p.aim.observe(a, o, c.aim);
  if (discrete(a.kind) && a.client_time_ms) {
    if (p.last_discrete_ms && a.client_time_ms > p.last_discrete_ms &&
        a.client_time_ms - p.last_discrete_ms < 10'000) {
      p.timing.add(static_cast<double>(a.client_time_ms - p.last_discrete_ms), c.timing_decay);
      p.bot_now = bot_feature(p);
    }
    p.last_discrete_ms = a.client_time_ms;
  }

  // Cheap first: flagged lately, or a score below the one the flag needs (no report, no
  // exponential, no division — this runs for every action; the clock's and the timing's
  // features are the ones computed when they last took a point).
  if (p.flagged && tick < p.flagged_tick + c.reflag_ticks) return;
  double z = c.bias;
  z += weights_[0] * std::min(p.speed.sum * inverse_threshold_[0], 3.0);
  z += weights_[1] * std::min(p.teleport.sum * inverse_threshold_[1], 3.0);
  z += weights_[2] * std::min(p.rapid_fire.sum * inverse_threshold_[2], 3.0);
  z += weights_[3] * std::min(p.reach.sum * inverse_threshold_[3], 3.0);
  z += weights_[4] * std::min(p.clock_now, 3.0);
  z += weights_[5] * std::min(p.bot_now, 3.0);
  z += weights_[6] * std::min(p.aim.snap_feature(c.aim), 3.0);
  z += weights_[7] * std::min(p.aim.reaction_feature(c.aim), 3.0);
  z += weights_[8] * std::min(p.aim.hit_feature(), 3.0);
  if (z < flag_score_) return;
  raise(shard, a, tick, p);
}

// The exact test, and the flag with its evidence (rare: at most once per reflag_ticks).
void Detector::raise(Shard& shard, const Action& a, std::uint64_t tick, Player& p) {
  const AnticheatConfig& c = config_;
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
  // The ring's entries rebuilt against this action's, the newest.
  const EvidenceRing& ring = shard.rings[p.ring];
  const EvidenceBase newest{a.client_seq, tick, a.stamp.physical_ms};
  f.evidence.reserve(p.ring_size);
  for (std::size_t i = 0; i < p.ring_size; ++i) {
    const std::size_t j = (p.ring_next + kEvidenceWindow - p.ring_size + i) % kEvidenceWindow;
    // The newest entry of an unfinished line is still in the record (written with the next).
    const bool waiting = p.ring_next % 2 == 1 && j + 1 == p.ring_next;
    f.evidence.push_back(unpack(waiting ? p.pending : ring.entries[j], newest));
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
  double z = config_.bias;
  for (std::size_t i = 0; i < kChecks; ++i)
    z += weights_[i] * std::min(features[i], 3.0);
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
  r.checks[6] =
      CheckValue{Check::kSnap, p.aim.snap_feature(c.aim), p.aim.snap_sum(), c.aim.snap_threshold};
  r.checks[7] = CheckValue{Check::kReaction, p.aim.reaction_feature(c.aim), p.aim.reaction_sum(),
                           c.aim.reaction_threshold};
  // The statistic: the posterior mean hit rate; its threshold, the rate the feature asks the
  // posterior to be above.
  r.checks[8] = CheckValue{Check::kHitRatio, p.aim.hit_feature(), p.aim.hit_rate(c.aim),
                           c.aim.hit_rate_threshold};
  std::array<double, kChecks> features;
  for (std::size_t i = 0; i < kChecks; ++i)
    features[i] = r.checks[i].feature;
  r.score = score(features);
  r.confidence = sigmoid(c.calibration_a * r.score + c.calibration_b);
  return r;
}

std::vector<Flag> Detector::take_flags() {
  std::vector<Flag> out;
  for (std::size_t i = 0; i < kShards; ++i) {
    Shard& s = shards_[i];
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
  return evaluate(player, it->second);
}

DetectorStats Detector::stats() const {
  DetectorStats out;
  for (std::size_t k = 0; k < kShards; ++k) {
    const Shard& s = shards_[k];
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
