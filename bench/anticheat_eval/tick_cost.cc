#include "bench/anticheat_eval/tick_cost.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <memory>
#include <mutex>
#include <numeric>
#include <random>
#include <thread>
#include <vector>

#include "region/anticheat/detector.h"
#include "region/anticheat/detector_tap.h"
#include "region/pipeline.h"
#include "tests/support/outboxes.h"

namespace worldline::bench_ac {
namespace {

using region::ActionKind;
using region::ActorId;
using Clock = std::chrono::steady_clock;

class DiscardingJournal final : public replica::Journal {
 public:
  crdt::Result<bool> append(const replica::JournalRecord&) override { return true; }
};

// The detector with the time spent inside it summed (its own ticks, never the compared ones:
// two clock reads per action are not free).
class TimedObserver final : public region::ActionObserver {
 public:
  explicit TimedObserver(region::ActionObserver& inner) : inner_(inner) {}
  void observe(const region::Action& a, const region::Outcome& o, std::uint64_t tick) override {
    const auto t0 = Clock::now();
    inner_.observe(a, o, tick);
    ns_.fetch_add(static_cast<std::uint64_t>(std::chrono::nanoseconds(Clock::now() - t0).count()),
                  std::memory_order_relaxed);
  }
  std::uint64_t take_ns() { return ns_.exchange(0); }

 private:
  region::ActionObserver& inner_;
  std::atomic<std::uint64_t> ns_{0};
};

struct Load {
  static constexpr ActorId kPlayers = 10'000;
  replica::ComponentRegistry registry = replica::ComponentRegistry::game_defaults();
  DiscardingJournal journal;
  testing::NullOutbox outbox;
  crdt::ManualClock wall{1'000'000};
  crdt::HlcClock clock{1, wall, 10'000};
  replica::Replica world{replica::ReplicaOptions{1, {}}, registry, journal, outbox};
  region::GameRules rules{[] {
    region::GameConfig g;
    g.spawn_health = 1'000'000'000;
    return g;
  }()};
  std::unique_ptr<region::RegionPipeline> pipeline;
  std::mt19937_64 rng;
  std::vector<crdt::Vec3> at;  // where each player's client has it
  std::vector<std::uint64_t> seq;
  std::uint64_t tick = 0;

  Load(int workers, std::uint64_t seed) : rng(seed), at(kPlayers + 1), seq(kPlayers + 1) {
    std::uniform_real_distribution<double> coord(0, 300);
    for (ActorId p = 1; p <= kPlayers; ++p) {
      at[p] = {coord(rng), 0, coord(rng)};
      rules.spawn(world, p, at[p], clock);
    }
    (void)world.commit(0);
    region::PipelineOptions o;
    o.partition.workers = workers;
    o.partition.split_load = 2000;
    o.partition.merge_load = 500;
    pipeline = std::make_unique<region::RegionPipeline>(o, region::PriorityRules::defaults(), rules,
                                                        world, clock);
  }

  // 5 000 actions of distinct players: 60 % moves a step from where they stand, 25 % attacks
  // on a player within range if there is one, 15 % emotes; moves and attacks carry an aim (the
  // aim checks run on them).
  std::vector<region::Submission> batch() {
    std::vector<region::Submission> out;
    out.reserve(5'000);
    std::uniform_real_distribution<double> unit(0, 1);
    const ActorId first = 1 + (tick % 2) * 5'000;  // each player every other tick
    for (ActorId p = first; p < first + 5'000; ++p) {
      region::Action a;
      a.actor = p;
      a.client_seq = ++seq[p];
      a.client_time_ms = wall.now_ms() - 40 + rng() % 30;
      const double roll = unit(rng);
      ActionKind kind = ActionKind::kEmote;
      if (roll < 0.6) {
        kind = ActionKind::kMove;
        const double angle = unit(rng) * 2 * M_PI, step = 9 * unit(rng);
        at[p].x = std::clamp(at[p].x + std::cos(angle) * step, 0.0, 300.0);
        at[p].z = std::clamp(at[p].z + std::sin(angle) * step, 0.0, 300.0);
        a.position = at[p];
        a.aim = crdt::Vec3{std::cos(angle), 0, std::sin(angle)};  // looking where it walks
      } else if (roll < 0.85) {
        kind = ActionKind::kAttack;
        const auto near = pipeline->within(at[p].x, at[p].z, 5);
        a.target = near.size() > 1 ? near[rng() % near.size()] : 1 + rng() % kPlayers;
        if (a.target == p) a.target = p % kPlayers + 1;
        const double angle = unit(rng) * 2 * M_PI;  // aimed anywhere: hits and misses
        a.aim = crdt::Vec3{std::cos(angle), 0, std::sin(angle)};
      } else {
        a.text = "gg";
      }
      out.push_back(region::Submission{static_cast<int>(kind), std::move(a)});
    }
    return out;
  }

  // `tap`: the observer is this tap, whose end_tick() is part of the tick.
  double run_tick(std::vector<region::Submission>& actions,
                  region::anticheat::DetectorTap* tap = nullptr) {
    ++tick;
    wall.advance(50);
    const auto t0 = Clock::now();
    (void)pipeline->submit_all(actions, wall.now_ms());
    (void)pipeline->tick(tick);
    if (tap) tap->end_tick();
    (void)world.commit(tick);
    return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
  }
};

// What the detector reads of an action and its outcome, recorded.
struct Observed {
  ActorId actor;
  std::uint64_t seq, client_ms, server_ms, tick;
  crdt::Vec3 position;
  float asked, granted, reach;
  ActionKind kind;
  region::Limit limit;
  bool ok;
};

class Recorder final : public region::ActionObserver {
 public:
  void observe(const region::Action& a, const region::Outcome& o, std::uint64_t tick) override {
    std::lock_guard<std::mutex> lock(mutex_);
    out.push_back(Observed{a.actor, a.client_seq, a.client_time_ms, a.stamp.physical_ms, tick,
                           a.position, o.asked, o.granted, o.reach, a.kind, o.limit, o.ok});
  }
  std::vector<Observed> out;

 private:
  std::mutex mutex_;
};

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

TickCost measure_tick_cost(int workers, std::uint64_t pairs, std::uint64_t seed) {
  Load load(workers, seed);
  region::anticheat::AnticheatConfig config;
  config.pace = load.rules.move_pace();
  region::anticheat::Detector detector(config);
  TimedObserver timed(detector);
  // Warm up: the tree adapts to the load, every player gets a detector record.
  load.pipeline->set_observer(&detector);
  for (int i = 0; i < 200; ++i) {
    auto b = load.batch();
    load.run_tick(b);
    (void)detector.take_flags();
  }
  region::anticheat::DetectorTap tap(detector, true);
  std::vector<double> with, without, diff, tapped, tap_diff;
  double inside_ns = 0;
  std::uint64_t timed_ticks = 0;
  for (std::uint64_t i = 0; i < pairs; ++i) {
    // Four ticks in a random order: with the detector, without, timed inside, and through the
    // tap (drained after its tick, untimed, so that its thread never runs beside another's).
    int order[4] = {0, 1, 2, 3};
    std::shuffle(order, order + 4, load.rng);
    double us[4] = {0, 0, 0, 0};
    for (int mode : order) {
      load.pipeline->set_observer(mode == 0   ? static_cast<region::ActionObserver*>(&detector)
                                  : mode == 1 ? nullptr
                                  : mode == 2 ? static_cast<region::ActionObserver*>(&timed)
                                              : &tap);
      auto b = load.batch();
      us[mode] = load.run_tick(b, mode == 3 ? &tap : nullptr);
      if (mode == 3) tap.drain();
      (void)detector.take_flags();
    }
    inside_ns += static_cast<double>(timed.take_ns());
    ++timed_ticks;
    with.push_back(us[0]);
    without.push_back(us[1]);
    diff.push_back(us[0] - us[1]);
    tapped.push_back(us[3]);
    tap_diff.push_back(us[3] - us[1]);
  }
  const auto before = tap.stats();
  // Steady runs: 40 ticks without an observer, 40 through the tap with its thread beside the
  // next tick, 40 with the detector inline on the workers, in turn; the tap drained between runs.
  std::vector<double> run_without, run_tap, run_inline;
  for (std::uint64_t r = 0; r < std::max<std::uint64_t>(3, pairs / 40); ++r) {
    const int mode = static_cast<int>(r % 3);  // 0 none, 1 tap, 2 inline
    const bool with_tap = mode == 1;
    load.pipeline->set_observer(mode == 0  ? nullptr
                                : with_tap ? static_cast<region::ActionObserver*>(&tap)
                                           : &detector);
    for (int t = 0; t < 40; ++t) {
      auto b = load.batch();
      const double us = load.run_tick(b, with_tap ? &tap : nullptr);
      (mode == 0 ? run_without : with_tap ? run_tap : run_inline).push_back(us);
    }
    tap.drain();
    (void)detector.take_flags();
  }
  const auto after = tap.stats();
  TickCost r;
  // Paced runs: the tick at its period, so a detector thread at nice 19 has the idle time
  // between ticks to work in (back-to-back runs above have none).
  {
    region::anticheat::DetectorTap idle_tap(detector, true, 8, 19);
    region::anticheat::DetectorTap* taps[4] = {nullptr, &tap, &idle_tap, nullptr};
    std::vector<double> paced[4];
    std::uint64_t waits_before[4] = {0, tap.stats().waits, idle_tap.stats().waits, 0};
    for (int round = 0; round < 3; ++round) {
      for (int mode = 0; mode < 4; ++mode) {
        load.pipeline->set_observer(mode == 0   ? nullptr
                                    : mode == 3 ? static_cast<region::ActionObserver*>(&detector)
                                                : taps[mode]);
        auto next = Clock::now();
        for (int t = 0; t < 40; ++t) {
          std::this_thread::sleep_until(next);
          next += std::chrono::milliseconds(50);
          auto b = load.batch();  // the clients' work, before the tick as it would be
          paced[mode].push_back(load.run_tick(b, taps[mode]));
        }
        if (taps[mode]) taps[mode]->drain();
        (void)detector.take_flags();
      }
    }
    for (int mode = 0; mode < 4; ++mode) {
      std::sort(paced[mode].begin(), paced[mode].end());
      r.paced_p50_us[mode] = paced[mode][paced[mode].size() / 2];
      r.paced_p99_us[mode] = paced[mode][paced[mode].size() * 99 / 100];
      if (taps[mode]) r.paced_waits[mode] = taps[mode]->stats().waits - waits_before[mode];
    }
    if (!idle_tap.stats().nice_error.empty()) {
      std::fprintf(stderr, "nice 19 not applied: %s\n", idle_tap.stats().nice_error.c_str());
    }
  }
  r.workers = workers;
  r.pairs = pairs;
  r.with_p50_us = median(with);
  r.without_p50_us = median(without);
  r.diff_p50_us = median(diff);
  std::sort(diff.begin(), diff.end());
  const std::size_t cut = diff.size() / 10;
  r.diff_mean_us = diff.size() > 2 * cut
                       ? std::accumulate(diff.begin() + static_cast<long>(cut),
                                         diff.end() - static_cast<long>(cut), 0.0) /
                             static_cast<double>(diff.size() - 2 * cut)
                       : 0;
  r.inside_us = timed_ticks ? inside_ns / 1000 / static_cast<double>(timed_ticks) : 0;
  r.pct_of_tick = r.without_p50_us > 0 ? 100 * r.diff_p50_us / r.without_p50_us : 0;
  r.pct_of_period = 100 * r.diff_p50_us / 50'000;
  r.tap_p50_us = median(tapped);
  r.tap_diff_p50_us = median(tap_diff);
  r.tap_pct_of_tick = r.without_p50_us > 0 ? 100 * r.tap_diff_p50_us / r.without_p50_us : 0;
  r.tap_thread_us =
      before.batches ? before.detector_ms * 1000 / static_cast<double>(before.batches) : 0;
  r.run_without_p50_us = median(run_without);
  r.run_tap_p50_us = median(run_tap);
  r.run_inline_p50_us = median(run_inline);
  r.run_pct_of_tick = r.run_without_p50_us > 0
                          ? 100 * (r.run_tap_p50_us - r.run_without_p50_us) / r.run_without_p50_us
                          : 0;
  r.tap_waits = after.waits - before.waits;
  return r;
}

ObserveCost measure_observe_cost(std::uint64_t ticks, int rounds, std::uint64_t seed) {
  Load load(1, seed);
  Recorder recorder;
  load.pipeline->set_observer(&recorder);
  for (std::uint64_t i = 0; i < ticks; ++i) {
    auto b = load.batch();
    load.run_tick(b);
  }
  const std::vector<Observed>& stream = recorder.out;
  region::anticheat::AnticheatConfig config;
  config.pace = load.rules.move_pace();
  region::anticheat::Detector detector(config);
  region::Action a;
  region::Outcome o;
  // One pass: the stream shifted by `round` of its own length in ticks and time.
  const auto pass = [&](int round, bool observe) {
    const std::uint64_t dt = static_cast<std::uint64_t>(round) * ticks,
                        dms = static_cast<std::uint64_t>(round) * ticks * 50,
                        dseq = static_cast<std::uint64_t>(round) * ticks;
    for (const Observed& r : stream) {
      a.actor = r.actor;
      a.kind = r.kind;
      a.client_seq = r.seq + dseq;
      a.client_time_ms = r.client_ms + dms;
      a.stamp.physical_ms = r.server_ms + dms;
      a.position = r.position;
      o.asked = r.asked;
      o.granted = r.granted;
      o.reach = r.reach;
      o.limit = r.limit;
      o.ok = r.ok;
      if (observe) {
        detector.observe(a, o, r.tick + dt);
      } else {
        // Keep the stores: the loop without the detector fills the same objects.
        asm volatile("" : : "r"(&a), "r"(&o) : "memory");
      }
    }
  };
  pass(0, true);  // every player gets its record
  (void)detector.take_flags();
  ObserveCost r;
  // Per round, so that a round in which the shared machine took the core away can be told apart:
  // the median and the fastest round.
  std::vector<double> per_action, loop_per_action;
  const auto n = static_cast<double>(stream.size());
  for (int round = 1; round <= rounds; ++round) {
    auto t0 = Clock::now();
    pass(round, true);
    const double with_ns = std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
    (void)detector.take_flags();
    t0 = Clock::now();
    pass(round, false);
    const double loop_ns = std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
    per_action.push_back(n > 0 ? (with_ns - loop_ns) / n : 0);
    loop_per_action.push_back(n > 0 ? loop_ns / n : 0);
  }
  r.actions = stream.size() * static_cast<std::uint64_t>(rounds);
  r.ns_per_action = median(per_action);
  r.min_ns_per_action =
      per_action.empty() ? 0 : *std::min_element(per_action.begin(), per_action.end());
  r.loop_ns_per_action = median(loop_per_action);
  return r;
}

}  // namespace worldline::bench_ac
