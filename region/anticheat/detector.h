// Detector: the region's cheat detection — per-player streaming checks on the ordered action
// stream (an ActionObserver the pipeline calls on its workers), sequential evidence per check,
// and one score per player that maps to a probability of cheating. No sockets, no storage: what
// it raises (Flags) the node keeps, replicates and shows to reviewers. docs/anticheat.md has the
// checks, the math and the configuration.
//
// The checks (each a feature ≥ 0; 1 means "at its threshold"):
//   speed       the client's steps (from one move's destination to the next) against max speed
//               over the time its clock says passed between them (network delay, jitter and a
//               lag spike's burst change neither), per window of running time (CUSUM);
//   teleport    single steps longer than teleport_ticks ticks' worth (CUSUM per jump);
//   rapid_fire  attacks sooner after the previous one than the cooldown, by the client's clock
//               (without a client clock: attacks refused on cooldown; CUSUM per attack);
//   reach       attacks and pickups from beyond their range plus a margin (CUSUM per attempt);
//   clock       the drift of the client's clock against the server's (slope of a line fitted
//               through the per-second minimum of client time − arrival time);
//   bot_timing  the regularity of the intervals between discrete actions (their CV, and how
//               often one repeats the one before to within a millisecond);
//   snap, reaction, hit_ratio  the aim checks, on actions that carry an aim (aim.h).
// A client that lies about its clock to pass speed or rapid_fire shows as clock drift.
// score: z = bias + Σ weight_i · min(feature_i, 3), confidence = σ(a·z + b) — a, b the
// calibration (Platt scaling, fitted offline on labelled data: bench/anticheat_eval).
//
// Thread safety: observe() from any worker (per-player state is sharded under locks, as the
// rules' cooldowns are); take_flags(), report() and stats() from any thread.
// Memory: a fixed-size record per player seen (bytes_per_player()), never more: the fields
// every action touches in the first cache lines of a record stored in the shard's table, the
// evidence ring apart and packed (evidence_ring.h).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "region/action_observer.h"
#include "region/anticheat/aim.h"
#include "region/anticheat/evidence.h"
#include "region/game_rules.h"

namespace worldline::region::anticheat {

inline constexpr int kChecks = 9;
// Append only: flag records name checks, and a record of an older node lists the first six.
enum class Check : std::uint8_t {
  kSpeed,
  kTeleport,
  kRapidFire,
  kReach,
  kClock,
  kBotTiming,
  kSnap,
  kReaction,
  kHitRatio,
};
inline constexpr int kChecksBeforeAim = 6;
const char* to_string(Check check);

struct CusumParams {
  double allowance = 0;  // k: what an honest stream may average per step
  double threshold = 1;  // h: the sum at which the feature is 1
  double weight = 8.5;   // in the score
};

struct AnticheatConfig {
  bool enabled = true;
  std::uint32_t region = 0;  // the high bits of flag ids: unique across regions
  MovePace pace;             // the rules' movement budget (GameConfig)
  double attack_range = 5, pickup_range = 5;

  double tick_ms = 50;                      // the region's tick period (speed per ms of a clock)
  std::uint32_t attack_cooldown_ticks = 2;  // the rules' (GameConfig)

  // speed: steps at full speed — at least full_speed × what the time since the client's
  // previous move allows (by its clock; the region's ticks without one; a gap over 1 s counts
  // as 1 s) — are summed, length and time, until window_ticks ticks' worth of time is in; then
  // x = min(length / (speed × time), 1.5) − 1 + max(0, clamped − clamp_allowance), clamped the
  // share of the window's moves the movement budget clamped or refused. An honest client
  // running flat out has x = 0 whatever its link does (its steps are max speed by its clock,
  // and the budget's catch-up covers its bursts); a speed hack that reconciles to the region
  // (rubber-bands) takes short steps but is clamped nearly every move.
  std::uint32_t window_ticks = 10;
  double full_speed = 0.9, clamp_allowance = 0.5;
  CusumParams speed{0.03, 0.5, 8.5};
  double teleport_ticks = 3;  // one step longer than this many ticks' worth
  // Each jump adds 1: two within a few seconds reach the calibrated flag; one never does.
  CusumParams teleport{0, 1.0, 8.5};
  // rapid fire: x = 1 for an attack less than (1 − margin) × the cooldown after the previous
  // one by the client's clock.
  double rapid_fire_margin = 0.1;
  CusumParams rapid_fire{0.25, 3, 8.5};
  double reach_margin = 0.2;  // beyond range × (1 + margin) counts
  CusumParams reach{0.2, 3, 8.5};
  // Counting checks (teleport, rapid fire, reach) forget this much evidence per tick (0.04 a
  // second at 20 Hz: two jumps 10 s apart still add up to 1.6).
  double forget_per_tick = 0.002;
  // clock: feature = max(0, |slope| − allowance) / threshold, once min_points seconds are in.
  double clock_allowance = 0.01, clock_threshold = 0.02, clock_weight = 8.5;
  std::uint32_t clock_min_points = 15;
  double clock_decay = 0.98;  // per second of points
  // bot timing, once bot_min_intervals are in: feature = max(2 − cv / bot_cv, repeats /
  // bot_repeats), clamped to [0, 3] (IntervalShape: a repeat is within 0.5 % or 1 ms of the
  // interval before). A human at a cooldown has a CV near 0.15 and repeats under 10 %.
  double bot_cv = 0.02, bot_repeats = 0.5, bot_weight = 8.5;
  std::uint32_t bot_min_intervals = 50;
  double timing_decay = 0.97;
  AimConfig aim;  // snap, reaction, hit_ratio (aim.h)

  // One check at its threshold (feature 1) scores z = 2.5; none, z = −6.
  double bias = -6;
  // confidence = σ(a·z + b): Platt's fit on the players' highest score in bench/anticheat_eval's
  // labelled population (3 seeds × 680 players, 41 % of them cheaters; 2026-12-07): one check
  // at its threshold is 0.26, two (or one at 1.6×) reach flag_at (z ≥ 6.7). In a population
  // with fewer cheaters the same score is less likely a cheat: shift b by the difference of
  // the base rates' log-odds (calibration.h: shift_base_rate) — for 1 %, b = −7.26.
  double calibration_a = 0.78, calibration_b = -3.02;
  double flag_at = 0.9;               // confidence at which a flag is raised
  std::uint64_t reflag_ticks = 1200;  // a player is flagged again after this, if still above
  std::size_t max_flags = 10'000;     // raised and not yet taken: the oldest are dropped
};

// One action as a flag's evidence window shows it.
struct EvidenceEntry {
  std::uint64_t seq = 0, tick = 0;
  std::uint64_t client_ms = 0, server_ms = 0;  // the client's clock; the arrival (HLC physical)
  float x = 0, z = 0;                          // a move's destination
  float asked = 0, granted = 0, reach = -1;
  ActionKind kind = ActionKind::kMove;
  Limit limit = Limit::kNone;
  bool ok = false;
};
inline constexpr std::size_t kEvidenceWindow = 16;

struct CheckValue {
  Check check = Check::kSpeed;
  double feature = 0;    // 1: at the threshold
  double statistic = 0;  // the CUSUM sum, the slope, the CV
  double threshold = 0;  // of the statistic
};

struct PlayerReport {
  ActorId player = 0;
  std::array<CheckValue, kChecks> checks{};
  double score = 0;       // z
  double confidence = 0;  // σ(a·z + b)
  std::uint64_t observed = 0;
};

struct Flag {
  std::uint64_t id = 0;
  ActorId player = 0;
  std::uint64_t tick = 0, server_ms = 0;
  double confidence = 0;
  std::vector<CheckValue> fired;          // feature ≥ 1, strongest first
  std::array<CheckValue, kChecks> all{};  // every check's value when it was raised
  std::vector<EvidenceEntry> evidence;    // the player's last actions, oldest first
};

struct DetectorStats {
  std::uint64_t observed = 0;
  std::uint64_t flags = 0;
  std::array<std::uint64_t, kChecks> fired{};  // flags in which each check fired
  std::uint64_t dropped_flags = 0;
  std::size_t players = 0;
};

class Detector final : public ActionObserver {
 public:
  explicit Detector(AnticheatConfig config);
  ~Detector();

  void observe(const Action& action, const Outcome& actor_half, std::uint64_t tick) override;
  // The flags raised since the last call, oldest first.
  std::vector<Flag> take_flags();
  std::optional<PlayerReport> report(ActorId player) const;
  DetectorStats stats() const;
  const AnticheatConfig& config() const { return config_; }
  static std::size_t bytes_per_player();
  // z for these features (each check's feature, 1 at its threshold): the node keeps it in a
  // flag's record, for recalibration from reviewers' verdicts.
  double score(const std::array<double, kChecks>& features) const;
  // New Platt parameters (a reviewers' refit), for the flags raised from now on.
  // REQUIRES: a > 0 and a, b finite; no observe() or report() running at the same time (the
  // node calls it on its loop thread between ticks, through DetectorTap::while_idle(), which
  // first lets the detector's own thread observe everything handed to it).
  void set_calibration(double a, double b);

  struct Player;  // detector.cc

 private:
  struct Shard;  // detector.cc: a lock, its players' records and evidence rings, its flags
  static constexpr std::size_t kShards = 64;

  PlayerReport evaluate(ActorId id, const Player& p) const;
  double clock_feature(const Player& p) const;
  double bot_feature(const Player& p) const;
  void raise(Shard& shard, const Action& a, std::uint64_t tick, Player& p);

  AnticheatConfig config_;
  double flag_score_ = 0;  // the z at which the confidence reaches flag_at
  // Derived from config_ once, for observe(): the weights (≥ 0), 1 / each CUSUM's threshold.
  std::array<double, kChecks> weights_{};
  std::array<double, 4> inverse_threshold_{};
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace worldline::region::anticheat
