// DetectorTap: the detector fed through the tap — inline or on its own thread — ends in exactly
// the state it reaches fed directly, and a lagging detector thread makes end_tick() wait rather
// than drop evidence.
#include "region/anticheat/detector_tap.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>

#include <sys/resource.h>
#include <unistd.h>

namespace worldline::region::anticheat {
namespace {

struct Step {
  Action action;
  Outcome outcome;
  std::uint64_t tick = 0;
};

// A stream of every kind of action from `players` players over `ticks` ticks, with outcomes that
// fire every check now and then (clamps, refusals, long steps, reach, misses).
std::vector<Step> stream(int players, int ticks) {
  std::vector<Step> out;
  std::vector<std::uint64_t> seq(static_cast<std::size_t>(players) + 1);
  for (int t = 1; t <= ticks; ++t) {
    const int per_tick = *rc::gen::inRange(0, 3 * players);
    for (int i = 0; i < per_tick; ++i) {
      Step s;
      const auto p = static_cast<ActorId>(*rc::gen::inRange(1, players + 1));
      s.tick = static_cast<std::uint64_t>(t);
      Action& a = s.action;
      a.actor = p;
      a.kind = static_cast<ActionKind>(*rc::gen::inRange(0, kActionKinds));
      a.client_seq = ++seq[p];
      a.client_time_ms =
          1'000'000 + s.tick * 50 + static_cast<std::uint64_t>(*rc::gen::inRange(0, 60));
      a.stamp = crdt::Hlc{1'000'000 + s.tick * 50, 0, 1};
      a.position = {static_cast<double>(*rc::gen::inRange(-500, 500)),
                    static_cast<double>(*rc::gen::inRange(-5, 5)),
                    static_cast<double>(*rc::gen::inRange(-500, 500))};
      if (*rc::gen::arbitrary<bool>()) {
        const double turn = *rc::gen::inRange(0, 360) * M_PI / 180;
        a.aim = crdt::Vec3{std::cos(turn), 0, std::sin(turn)};
      }
      a.target = static_cast<crdt::EntityId>(*rc::gen::inRange(1, players + 1));
      Outcome& o = s.outcome;
      o.ok = *rc::gen::arbitrary<bool>();
      o.asked = static_cast<float>(*rc::gen::inRange(0, 80));
      o.granted = std::min(o.asked, 10.0f);
      o.reach = static_cast<float>(*rc::gen::inRange(-1, 90)) / 10;
      o.aim_error_deg = static_cast<float>(*rc::gen::inRange(-1, 30));
      o.limit = static_cast<Limit>(*rc::gen::inRange(0, 5));
      out.push_back(std::move(s));
    }
  }
  return out;
}

// Everything the detector concludes: each player's report, and every flag (player, tick,
// confidence, the checks' values and the evidence's seqs) in a canonical order — the evidence
// shows whether one player's actions reached it in their order.
struct Conclusions {
  std::vector<std::tuple<ActorId, std::uint64_t, double, std::vector<double>>> reports;
  std::vector<
      std::tuple<ActorId, std::uint64_t, double, std::vector<double>, std::vector<std::uint64_t>>>
      flags;
  std::uint64_t observed = 0;
  bool operator==(const Conclusions&) const = default;
};

Conclusions conclusions(Detector& d, int players) {
  Conclusions c;
  c.observed = d.stats().observed;
  for (ActorId p = 1; p <= static_cast<ActorId>(players); ++p) {
    const auto r = d.report(p);
    if (!r) continue;
    std::vector<double> stats;
    for (const CheckValue& v : r->checks)
      stats.push_back(v.statistic);
    c.reports.emplace_back(p, r->observed, r->score, std::move(stats));
  }
  for (const Flag& f : d.take_flags()) {
    std::vector<double> values;
    for (const CheckValue& v : f.all)
      values.push_back(v.statistic);
    std::vector<std::uint64_t> seqs;
    for (const EvidenceEntry& e : f.evidence)
      seqs.push_back(e.seq);
    c.flags.emplace_back(f.player, f.tick, f.confidence, std::move(values), std::move(seqs));
  }
  std::sort(c.flags.begin(), c.flags.end());
  return c;
}

AnticheatConfig flag_often() {
  AnticheatConfig c;
  c.flag_at = 0.5;
  c.reflag_ticks = 5;
  return c;
}

// The law: the tap changes where and when the detector runs, never what it concludes. The
// threaded tap's detector is held busy until the stream ends, so every tick's batch waits in its
// queue (order through a long queue tested too).
RC_GTEST_PROP(DetectorTapLaws, InlineAndThreadedTapsEndWhereTheDetectorFedDirectlyEnds, ()) {
  const int players = *rc::gen::inRange(1, 40);
  const auto steps = stream(players, *rc::gen::inRange(1, 30));
  Detector direct(flag_often()), inline_fed(flag_often()), threaded_fed(flag_often());
  {
    DetectorTap inline_tap(inline_fed, false);
    DetectorTap threaded_tap(threaded_fed, true, /*max_lag_ticks=*/100);
    RC_ASSERT(!inline_tap.own_thread());
    RC_ASSERT(threaded_tap.own_thread());
    std::promise<void> held, release;
    std::thread holder([&] {
      threaded_tap.while_idle([&](Detector&) {
        held.set_value();
        release.get_future().wait();
      });
    });
    held.get_future().wait();
    std::uint64_t tick = steps.empty() ? 0 : steps.front().tick;
    for (const Step& s : steps) {
      if (s.tick != tick) {
        inline_tap.end_tick();
        threaded_tap.end_tick();
        tick = s.tick;
      }
      direct.observe(s.action, s.outcome, s.tick);
      inline_tap.observe(s.action, s.outcome, s.tick);
      threaded_tap.observe(s.action, s.outcome, s.tick);
    }
    inline_tap.end_tick();
    threaded_tap.end_tick();
    RC_ASSERT(threaded_fed.stats().observed == 0u);  // all of it queued behind the holder
    release.set_value();
    holder.join();
    threaded_tap.drain();
    RC_ASSERT(threaded_tap.stats().observations == steps.size());
    RC_ASSERT(inline_tap.stats().observations == steps.size());
    RC_ASSERT(threaded_tap.stats().behind == 0u);
    RC_ASSERT(threaded_tap.stats().waits == 0u);
  }
  const Conclusions want = conclusions(direct, players);
  RC_ASSERT(want.observed == steps.size());
  RC_ASSERT(conclusions(inline_fed, players) == want);
  RC_ASSERT(conclusions(threaded_fed, players) == want);
}

// With the detector held busy (while_idle), the tick hands over up to max_lag batches and then
// waits; released, every observation is observed — none dropped.
TEST(DetectorTap, ALaggingDetectorMakesTheTickWaitAndLosesNothing) {
  Detector detector{AnticheatConfig{}};
  DetectorTap tap(detector, true, /*max_lag_ticks=*/1);
  std::promise<void> release;
  std::promise<void> holding;
  std::thread holder([&] {
    tap.while_idle([&](Detector&) {
      holding.set_value();
      release.get_future().wait();
    });
  });
  holding.get_future().wait();
  Action a;
  a.actor = 7;
  Outcome o;
  o.ok = true;
  auto ticks = std::async(std::launch::async, [&] {
    for (std::uint64_t t = 1; t <= 3; ++t) {
      a.client_seq = t;
      tap.observe(a, o, t);
      tap.end_tick();
    }
  });
  // Tick 1's batch is taken by the detector thread (blocked on the held detector), tick 2's
  // waits in the queue, and tick 3's end_tick() waits for room.
  for (int i = 0; i < 500 && tap.stats().waits == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  // 1, or 2 when tick 2's end_tick() came before the detector thread took tick 1's batch.
  EXPECT_GE(tap.stats().waits, 1u);
  EXPECT_LE(tap.stats().waits, 2u);
  EXPECT_EQ(ticks.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);
  EXPECT_EQ(detector.stats().observed, 0u);
  release.set_value();
  holder.join();
  ticks.get();
  tap.drain();
  EXPECT_EQ(detector.stats().observed, 3u);
  EXPECT_EQ(tap.stats().observations, 3u);
  EXPECT_EQ(tap.stats().batches, 3u);
  EXPECT_EQ(tap.stats().behind, 0u);
  ASSERT_TRUE(detector.report(7));
  EXPECT_EQ(detector.report(7)->observed, 3u);
}

// The process's threads at niceness `nice` (/proc/self/task/*/stat, field 19), and all its
// threads, counted in one pass.
struct NiceCount {
  int at = 0, all = 0;
};
NiceCount threads_at_nice(int nice) {
  NiceCount n;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream in(task.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    ++n.all;
    std::istringstream fields(stat.substr(close + 2));  // from field 3, the state
    std::string field;
    for (int i = 3; i <= 19 && fields >> field; ++i) {
      if (i == 19 && std::stoi(field) == nice) ++n.at;
    }
  }
  return n;
}

// The detector thread's niceness is its own: set on that thread (stats say so once it has run),
// while the thread that made the tap keeps its own; without a thread there is nothing to set.
TEST(DetectorTap, NiceLowersTheDetectorThreadAloneAndOnlyWhenThereIsOne) {
  const int mine = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
  Detector detector{AnticheatConfig{}};
  DetectorTap tap(detector, true, 8, 19);
  Action a;
  a.actor = 5;
  a.client_seq = 1;
  tap.observe(a, Outcome{}, 1);
  tap.end_tick();
  tap.drain();  // the thread has run its start, and observed the batch
  EXPECT_EQ(tap.stats().nice, 19) << tap.stats().nice_error;
  EXPECT_EQ(tap.stats().nice_error, "");
  // What the kernel says, not what the tap reports: the detector's thread runs at nice 19 (the
  // niceness is absolute), the others stay at this one's. Under a test runner that is itself
  // niced to 19 every thread already is.
  const NiceCount at19 = threads_at_nice(19);
  EXPECT_EQ(at19.at, mine == 19 ? at19.all : 1);
  EXPECT_EQ(getpriority(PRIO_PROCESS, static_cast<id_t>(gettid())), mine);
  EXPECT_EQ(detector.stats().observed, 1u);
  DetectorTap inline_tap(detector, false, 8, 19);
  EXPECT_EQ(inline_tap.stats().nice, 0);
}

// A tick without actions hands nothing over; destroying the tap observes what was handed over.
TEST(DetectorTap, AnEmptyTickHandsNothingOverAndTheDestructorObservesTheRest) {
  Detector detector{AnticheatConfig{}};
  {
    DetectorTap tap(detector, true);
    tap.end_tick();
    EXPECT_EQ(tap.stats().batches, 0u);
    Action a;
    a.actor = 3;
    Outcome o;
    for (std::uint64_t t = 1; t <= 5; ++t) {
      a.client_seq = t;
      tap.observe(a, o, t);
      tap.end_tick();
    }
    EXPECT_EQ(tap.stats().batches, 5u);
  }
  EXPECT_EQ(detector.stats().observed, 5u);
}

}  // namespace
}  // namespace worldline::region::anticheat
