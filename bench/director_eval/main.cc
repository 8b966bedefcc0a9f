// director_eval: how well the director's load forecasts (region/director/forecast.h) predict
// players and actions/s per area, 10 s and 30 s ahead, on a compressed day played through the
// real region pipeline (issue #17's load-prediction bench).
//
// The day (scenario.h): players log in and out along a slow sinusoid, a world boss scheduled at
// 40 % of the day draws players to one spot (the director knows it: a known effect), and at 75 %
// a flash crowd converges on another spot within seconds (unannounced). Every act goes through
// RegionPipeline::submit_all() and tick() with the built-in game rules, so the partitioner sees
// real loads and splits and merges as it does in a node. Once a simulated second the leaves'
// players and actions go into a DensityMap, and every area's Holt forecast observes it
// (area_forecasts.h says why the series are areas of a fixed grid, not leaves).
//
// Printed, per window (the day after a 20-s warm-up; calm periods; the boss, and while it runs;
// the crowd, and the 10 s after it disperses): MAPE at 10 s and 30 s ahead for players and
// actions/s — p50/p95 of the grid areas' MAPEs, all their scores pooled, their WAPE — and the
// boss's or the crowd's own area; when the crowd's 10-s forecast catches up; how far the density
// map's areas are from the players' true positions; the pipeline's tick time (steady clock around
// tick(); the rest runs on simulated time) with ticks on time (a tick is late past the 50 ms
// period), and the splits before and after each surge. Deterministic given the seed, whatever
// --workers, except the times.
//
// --proactive (issue #17: prediction used proactively, against reacting to measured load only):
// once a simulated second, every grid area whose 10-s players forecast exceeds its current
// players by more than max(kMarginPlayers, kMarginShare × current) is expected to carry its
// forecast load (players + actions/s × the tick period: the partitioner's unit, entities +
// actions per tick) for the next 10 s (RegionPipeline::expect_load()); and when the boss is
// registered (20 s ahead), its square is expected to carry the boss series' forecast for the
// boss's start until the boss ends. The partitioner then splits those areas and rebalances the
// workers before the players arrive, and holds the split until the expectation expires. The
// crowd's own square is not used: only the bench knows where the crowd goes. Printed beside the
// rest: splits made ahead (of leaves whose measured load was at most split_load).
//
// Rerun (release tree):
//   cmake -S . -B build/rel -G Ninja -DCMAKE_BUILD_TYPE=Release -DWORLDLINE_TESTS=OFF
//     -DWORLDLINE_BENCH=ON && cmake --build build/rel --target director_eval  (one line)
//   build/rel/bench/director_eval [--seed 1] [--day 90] [--players 2000] [--workers 2]
//     [--grid 4] [--split-load 80] [--merge-load 20] [--alpha 0.5] [--beta 0.2] [--csv FILE]
//     [--proactive]
//   (--csv: per second, the boss's, the crowd's and every grid area's actuals and forecasts)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "bench/director_eval/area_forecasts.h"
#include "bench/director_eval/scenario.h"
#include "region/pipeline.h"
#include "tests/support/outboxes.h"

namespace worldline::bench_director {
namespace {

namespace director = region::director;
using Clock = std::chrono::steady_clock;

constexpr std::uint64_t kStartMs = 1'000'000;  // the day starts at second 1000 of the clock
// --proactive: an area's 10-s forecast must exceed its current players by more than both of
// these to be expected. 5 players: below that the forecast's noise in a near-empty area (a few
// players walking in and out) would pre-split areas for nothing; 20 %: the sinusoid alone raises
// an area's players by up to ~10 % in 10 s at its steepest, which reactive splitting handles.
constexpr double kMarginPlayers = 5, kMarginShare = 0.2;
constexpr std::uint64_t kExpectTicks = 200;  // 10 s at 20 Hz: the forecast's horizon

class DiscardingJournal final : public replica::Journal {
 public:
  crdt::Result<bool> append(const replica::JournalRecord&) override { return true; }
};

struct Options {
  ScenarioOptions scenario;
  int workers = 2, grid = 4;
  // Scaled to the bench's population (the defaults, 4000/1000, suit a region of 10 000 players):
  // populated leaves end up no larger than a grid area, so area sums are exact.
  std::uint32_t split_load = 80, merge_load = 20;
  double alpha = 0.5, beta = 0.2;  // HoltOptions' defaults
  std::string csv;
  bool proactive = false;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", arg.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--seed") {
      o.scenario.seed = std::stoull(next());
    } else if (arg == "--day") {
      o.scenario.day_s = std::stod(next());
    } else if (arg == "--players") {
      o.scenario.players = std::stoi(next());
    } else if (arg == "--workers") {
      o.workers = std::stoi(next());
    } else if (arg == "--grid") {
      o.grid = std::stoi(next());
    } else if (arg == "--split-load") {
      o.split_load = static_cast<std::uint32_t>(std::stoul(next()));
    } else if (arg == "--merge-load") {
      o.merge_load = static_cast<std::uint32_t>(std::stoul(next()));
    } else if (arg == "--alpha") {
      o.alpha = std::stod(next());
    } else if (arg == "--beta") {
      o.beta = std::stod(next());
    } else if (arg == "--csv") {
      o.csv = next();
    } else if (arg == "--proactive") {
      o.proactive = true;
    } else {
      std::fprintf(stderr,
                   "usage: director_eval [--seed N] [--day S] [--players N] [--workers N] "
                   "[--grid N] [--split-load N] [--merge-load N] [--alpha A] [--beta B] "
                   "[--csv FILE] [--proactive]\n");
      std::exit(2);
    }
  }
  if (o.scenario.day_s < 60 || o.scenario.day_s > 600 || o.grid < 1 || o.workers < 1) {
    std::fprintf(stderr, "--day must be in [60, 600], --grid and --workers at least 1\n");
    std::exit(2);
  }
  return o;
}

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, i == 0 ? 0 : i - 1)];
}

struct TickRecord {
  double t_s = 0, tick_ms = 0;
  int splits = 0, merges = 0, leaves = 0;
  int splits_ahead = 0;  // of `splits`
  std::size_t actions = 0;
};

struct Window {
  const char* name;
  int from_s, to_s;
};

// One window's rows: per metric and horizon, the grid's areas (p50 and p95 of their MAPEs, all
// their scores pooled, their WAPE) and, with `focus`, that one area's MAPE and WAPE.
void print_errors(const AreaForecasts& f, const Window& w, const char* focus,
                  const std::vector<std::pair<int, int>>& except = {}) {
  for (Metric m : {Metric::kPlayers, Metric::kActions}) {
    for (int h : {10, 30}) {
      const WindowError grid = f.error(m, h, w.from_s, w.to_s, true, {}, 10, except);
      std::printf("  %-6s %-9s %2d s  %2zu areas  p50 %6.1f  p95 %7.1f  pooled %7.1f  WAPE %5.1f",
                  w.name, to_string(m), h, grid.per_area.size(), grid.p50(), grid.p95(),
                  grid.pooled, grid.wape);
      if (focus) {
        const WindowError one = f.error(m, h, w.from_s, w.to_s, false, focus, 1, except);
        std::printf("  | %s area MAPE %7.1f  WAPE %5.1f", focus, one.pooled, one.wape);
      }
      std::printf("\n");
    }
  }
}

int run(const Options& o) {
  const ScenarioOptions& so = o.scenario;
  replica::ComponentRegistry registry = replica::ComponentRegistry::game_defaults();
  DiscardingJournal journal;
  testing::NullOutbox outbox;
  crdt::ManualClock wall{kStartMs};
  crdt::HlcClock clock{1, wall, 10'000};
  replica::Replica world{replica::ReplicaOptions{1, {}}, registry, journal, outbox};
  region::GameConfig game;
  game.spawn_health = 1'000'000'000;  // nobody dies during the day (the boss neither)
  region::GameRules rules{game};
  Scenario scenario{so, rules};
  scenario.spawn_all(rules, world, clock);
  (void)world.commit(0);

  region::PipelineOptions po;
  po.partition.world = region::Rect{0, 0, 2 * kPlayHalf, 2 * kPlayHalf};
  po.partition.workers = o.workers;
  po.partition.split_load = o.split_load;
  po.partition.merge_load = o.merge_load;
  region::RegionPipeline pipeline{po, region::PriorityRules::defaults(), rules, world, clock};

  director::DensityMap density;  // one sample a second
  director::HoltOptions holt;    // horizons 10 and 30 s, floor 1
  holt.alpha = o.alpha;
  holt.beta = o.beta;
  AreaForecasts forecasts{o.grid, so, holt};
  const int boss_announce_s = static_cast<int>(so.boss_at_s()) - 20;

  // The truth the density map approximates: online players per grid area, summed over ticks.
  std::vector<double> truth_sum(static_cast<std::size_t>(o.grid * o.grid), 0);
  double map_gap_sum = 0;
  std::uint64_t map_gap_n = 0, ticks_in_period = 0;

  const auto ticks = static_cast<std::uint64_t>(so.day_s * 1000 / kTickMs);
  std::vector<TickRecord> records;
  records.reserve(ticks);
  std::vector<director::CellCount> counts;
  const auto wall_start = Clock::now();
  std::uint64_t submitted = 0, rejected_at_ingress = 0, refused = 0;
  std::uint64_t expect_calls = 0;  // --proactive: expect_load() calls that were held
  std::size_t expectations_max = 0;
  for (std::uint64_t tick = 1; tick <= ticks; ++tick) {
    const std::uint64_t now = wall.now_ms();
    const double t_s = static_cast<double>(now - kStartMs) / 1000;
    auto batch = scenario.step(tick, t_s, now, world, clock);
    submitted += batch.size();
    rejected_at_ingress += pipeline.submit_all(batch, now).size();
    wall.advance(static_cast<std::uint64_t>(kTickMs));
    const auto t0 = Clock::now();
    const std::vector<region::Outcome> outcomes = pipeline.tick(tick);
    const double tick_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    for (const region::Outcome& out : outcomes)
      refused += !out.ok;
    (void)world.commit(wall.now_ms());
    scenario.reconcile(world);
    const region::RebalanceReport& r = pipeline.stats().last_rebalance;

    // The director's tap: this tick's leaves, stamped with the tick's start. The first tick of
    // a new second closes the last one, which every area then observes.
    counts.clear();
    std::size_t actions = 0;
    for (const region::CellReport& c : pipeline.cells()) {
      counts.push_back(director::CellCount{c.cell, pipeline.partition().bounds(c.cell),
                                           static_cast<std::uint32_t>(c.entities),
                                           static_cast<std::uint32_t>(c.processed_last_tick)});
      actions += c.processed_last_tick;
    }
    const auto before = density.latest_period();
    density.observe_tick(static_cast<std::int64_t>(now), counts);
    if (density.latest_period() != before) {
      const int s =
          static_cast<int>(*density.latest_period() - static_cast<std::int64_t>(kStartMs / 1000));
      forecasts.observe(density, s);
      // The map against the truth, per grid area with at least one player on average.
      for (std::size_t a = 0; a < truth_sum.size(); ++a) {
        const double truth = truth_sum[a] / static_cast<double>(ticks_in_period);
        if (truth >= 1) {
          const double seen =
              forecasts.series()[a].actual[0][static_cast<std::size_t>(s)].value_or(0);
          map_gap_sum += std::abs(seen - truth) / truth;
          ++map_gap_n;
        }
      }
      std::fill(truth_sum.begin(), truth_sum.end(), 0);
      ticks_in_period = 0;
      if (s == boss_announce_s) {
        forecasts.expect_boss(s, so.boss_at_s(), so.boss_for_s, so.boss_draw);
        if (o.proactive) {
          // The boss's square, from now until the boss ends, at the load the boss series
          // forecasts for its start (the known effect included).
          const AreaSeries& b = forecasts.named("boss");
          const double ahead = so.boss_at_s() - s;
          const double load =
              b.forecast[0].forecast(ahead) + b.forecast[1].forecast(ahead) * kTickMs / 1000;
          const auto end_tick =
              static_cast<std::uint64_t>((so.boss_at_s() + so.boss_for_s) * 1000 / kTickMs);
          expect_calls += pipeline.expect_load(std::get<region::Rect>(b.area),
                                               static_cast<std::uint32_t>(std::lround(load)),
                                               end_tick) != region::ExpectOutcome::kIgnored;
        }
      }
      if (o.proactive && s >= 0 &&
          static_cast<std::size_t>(s) < forecasts.series()[0].made10[0].size()) {
        const auto i = static_cast<std::size_t>(s);
        for (const AreaSeries& a : forecasts.series()) {
          if (!a.grid) continue;
          const double current = a.actual[0][i].value_or(0), coming = a.made10[0][i];
          if (coming - current <= std::max(kMarginPlayers, kMarginShare * current)) continue;
          const double load = coming + a.made10[1][i] * kTickMs / 1000;
          expect_calls +=
              pipeline.expect_load(std::get<region::Rect>(a.area),
                                   static_cast<std::uint32_t>(std::lround(load)),
                                   tick + kExpectTicks) != region::ExpectOutcome::kIgnored;
        }
      }
      expectations_max = std::max(expectations_max, pipeline.stats().expectations_held);
    }
    const std::vector<int> truth = scenario.online_per_area(o.grid);
    for (std::size_t a = 0; a < truth.size(); ++a)
      truth_sum[a] += truth[a];
    ++ticks_in_period;
    records.push_back(TickRecord{t_s, tick_ms, r.splits, r.merges,
                                 static_cast<int>(pipeline.partition().leaves().size()),
                                 r.splits_ahead, actions});
  }
  const double wall_s = std::chrono::duration<double>(Clock::now() - wall_start).count();

  const ScenarioCounts& sc = scenario.counts();
  const int day = static_cast<int>(so.day_s);
  const int boss_at = static_cast<int>(so.boss_at_s()),
            crowd_at = static_cast<int>(so.crowd_at_s());
  const int crowd_end = crowd_at + static_cast<int>(so.crowd_for_s);
  // Scores start after a warm-up: Holt's trend starts from the first two samples.
  constexpr int kWarmUp_s = 20;
  const Window whole{"day", kWarmUp_s, day};
  const Window boss{"boss", boss_at - 5, boss_at + static_cast<int>(so.boss_for_s) + 10};
  const Window crowd{"crowd", crowd_at, crowd_end};
  const Window dispersal{"after", crowd_end, crowd_end + 10};

  std::printf(
      "director_eval: seed %llu, day %.0f s = %llu ticks at 20 Hz, %d accounts, %d workers, "
      "split/merge load %u/%u, %s\n",
      static_cast<unsigned long long>(so.seed), so.day_s, static_cast<unsigned long long>(ticks),
      so.players, o.workers, o.split_load, o.merge_load,
      o.proactive ? "proactive (expected loads from the forecasts)" : "reactive (measured loads)");
  std::printf(
      "  online %.0f %% → %.0f %% → %.0f %% (peak %d); %llu logins, %llu logouts; %llu "
      "actions submitted (%llu moves, %llu attacks, %llu emotes), %llu rejected at ingress, %llu "
      "processed, %llu of them refused by the rules; %.1f s wall\n",
      100 * so.online_min, 100 * so.online_max, 100 * so.online_min, sc.peak_online,
      static_cast<unsigned long long>(sc.logins), static_cast<unsigned long long>(sc.logouts),
      static_cast<unsigned long long>(submitted), static_cast<unsigned long long>(sc.moves),
      static_cast<unsigned long long>(sc.attacks), static_cast<unsigned long long>(sc.emotes),
      static_cast<unsigned long long>(rejected_at_ingress),
      static_cast<unsigned long long>(pipeline.stats().processed),
      static_cast<unsigned long long>(refused), wall_s);
  std::printf(
      "  boss: scheduled at %d s for %.0f s at (%.0f, %.0f), known effect registered at "
      "%d s; %d players drawn\n",
      boss_at, so.boss_for_s, so.boss.x, so.boss.z, boss_announce_s, sc.boss_drawn);
  std::printf("  flash crowd: at %d s for %.0f s at (%.0f, %.0f), unannounced; %d players drawn\n",
              crowd_at, so.crowd_for_s, so.crowd.x, so.crowd.z, sc.crowd_drawn);

  std::printf(
      "\nforecast error in %% (Holt α %.2g β %.2g, one sample a second; actuals below %.0f not "
      "scored; p50/p95: of the MAPEs of the %d×%d grid's areas with ≥ 10 scores):\n",
      holt.alpha, holt.beta, holt.mape_floor, o.grid, o.grid);
  std::printf("  day: [%d, %d) s, after a %d-s warm-up\n", whole.from_s, whole.to_s, kWarmUp_s);
  print_errors(forecasts, whole, nullptr);
  std::printf("  calm: the day outside the four windows below\n");
  print_errors(forecasts, Window{"calm", whole.from_s, whole.to_s}, nullptr,
               {{boss.from_s, boss.to_s}, {crowd.from_s, dispersal.to_s}});
  std::printf("  boss: [%d, %d) s, from 5 s before its start to 10 s after its end\n", boss.from_s,
              boss.to_s);
  print_errors(forecasts, boss, "boss");
  const Window running{"runs", boss_at, boss_at + static_cast<int>(so.boss_for_s)};
  std::printf("  runs: [%d, %d) s, while the boss runs\n", running.from_s, running.to_s);
  print_errors(forecasts, running, "boss");
  std::printf("  crowd: [%d, %d) s, from its onset to its end\n", crowd.from_s, crowd.to_s);
  print_errors(forecasts, crowd, "crowd");
  std::printf("  after: [%d, %d) s, the 10 s after the crowd disperses\n", dispersal.from_s,
              dispersal.to_s);
  print_errors(forecasts, dispersal, "crowd");
  for (Metric m : {Metric::kPlayers, Metric::kActions}) {
    const auto s = forecasts.catch_up("crowd", m, crowd_at - 10, 0.15, 5);
    if (s) {
      std::printf(
          "  crowd area, %s: the 10-s forecast made at onset%+d s is within 15 %% (and the "
          "next 4 too), i.e. right from onset%+d s on\n",
          to_string(m), *s - crowd_at, *s + 10 - crowd_at);
    } else {
      std::printf("  crowd area, %s: the 10-s forecast never holds within 15 %% for 5 s\n",
                  to_string(m));
    }
  }
  std::printf(
      "  density map vs truth (players per grid area, areas with ≥ 1): mean abs. error "
      "%.1f %% over %llu area-seconds\n",
      map_gap_n ? 100 * map_gap_sum / static_cast<double>(map_gap_n) : 0.0,
      static_cast<unsigned long long>(map_gap_n));

  std::printf("\ntick (steady clock around RegionPipeline::tick(); late: > %.0f ms):\n", kTickMs);
  for (const Window& w : {whole, boss, crowd, dispersal}) {
    std::vector<double> ms;
    int late = 0, splits = 0, merges = 0, max_leaves = 0, ahead = 0;
    for (const TickRecord& t : records) {
      if (t.t_s < w.from_s || t.t_s >= w.to_s) continue;
      ms.push_back(t.tick_ms);
      late += t.tick_ms > kTickMs;
      splits += t.splits;
      ahead += t.splits_ahead;
      merges += t.merges;
      max_leaves = std::max(max_leaves, t.leaves);
    }
    std::printf(
        "  %-6s p50 %6.2f ms  p99 %6.2f ms  max %6.2f ms  on time %zu of %zu  splits %d (ahead "
        "%d)  merges %d  leaves ≤ %d\n",
        w.name, quantile(ms, 0.5), quantile(ms, 0.99), quantile(ms, 1.0),
        ms.size() - static_cast<std::size_t>(late), ms.size(), splits, ahead, merges, max_leaves);
  }
  {
    // Where the cost of a changed tree goes: a tick with a split or merge also re-places the
    // changed cells' entities and looks at every actor's home (RegionPipeline::regrid()).
    std::vector<double> changed, steady;
    for (const TickRecord& t : records)
      (t.splits + t.merges > 0 ? changed : steady).push_back(t.tick_ms);
    std::printf(
        "  ticks with a split or merge: %zu, p50 %.2f ms p99 %.2f ms max %.2f ms; the other %zu: "
        "p50 %.2f ms p99 %.2f ms max %.2f ms\n",
        changed.size(), quantile(changed, 0.5), quantile(changed, 0.99), quantile(changed, 1.0),
        steady.size(), quantile(steady, 0.5), quantile(steady, 0.99), quantile(steady, 1.0));
  }
  std::printf(
      "  whole run: %llu splits, %llu of them ahead; %llu expectations held by expect_load(), at "
      "most %zu at once\n",
      static_cast<unsigned long long>(pipeline.stats().splits),
      static_cast<unsigned long long>(pipeline.stats().splits_ahead),
      static_cast<unsigned long long>(expect_calls), expectations_max);
  // The reactive partitioner at each surge: splits before and after players set out (the boss's
  // 3 s before its start, the crowd's at its onset), and the worst tick of the 10 s after.
  for (const auto& [name, onset] :
       {std::pair<const char*, double>{"boss", so.boss_at_s() - 3}, {"crowd", so.crowd_at_s()}}) {
    int before = 0, after = 0, before_ahead = 0, after_ahead = 0;
    double worst = 0;
    for (const TickRecord& t : records) {
      if (t.t_s >= onset - 10 && t.t_s < onset) {
        before += t.splits;
        before_ahead += t.splits_ahead;
      }
      if (t.t_s >= onset && t.t_s < onset + 10) {
        after += t.splits;
        after_ahead += t.splits_ahead;
        worst = std::max(worst, t.tick_ms);
      }
    }
    std::printf(
        "  %-5s surge (players set out at %.0f s): splits in the 10 s before %d (ahead %d), in "
        "the 10 s after %d (ahead %d); worst tick of those 10 s %.2f ms (%.0f %% of the "
        "period)\n",
        name, onset, before, before_ahead, after, after_ahead, worst, 100 * worst / kTickMs);
  }
  {
    // --proactive splits the boss's square when the boss is registered, before the 10 s above.
    int splits = 0, ahead = 0;
    for (const TickRecord& t : records) {
      if (t.t_s >= boss_announce_s && t.t_s < so.boss_at_s() - 3) {
        splits += t.splits;
        ahead += t.splits_ahead;
      }
    }
    std::printf(
        "  boss: splits from its registration at %d s to its players setting out: %d "
        "(ahead %d)\n",
        boss_announce_s, splits, ahead);
  }

  if (!o.csv.empty()) {
    if (FILE* f = std::fopen(o.csv.c_str(), "w")) {
      std::fprintf(
          f, "second,series,metric,actual,forecast10_made_10s_before,forecast30_made_30s_before\n");
      for (const AreaSeries& a : forecasts.series()) {
        for (int m = 0; m < 2; ++m) {
          for (int s = 0; s < day; ++s) {
            const auto& v = a.actual[m][static_cast<std::size_t>(s)];
            if (!v) continue;
            std::fprintf(f, "%d,%s,%s,%.3f,%.3f,%.3f\n", s, a.name.c_str(),
                         to_string(static_cast<Metric>(m)), *v,
                         s >= 10 ? a.made10[m][static_cast<std::size_t>(s - 10)] : NAN,
                         s >= 30 ? a.made30[m][static_cast<std::size_t>(s - 30)] : NAN);
          }
        }
      }
      std::fclose(f);
    }
  }
  std::printf(
      "\nrerun: build/rel/bench/director_eval --seed %llu --day %.0f --players %d --workers "
      "%d --grid %d --split-load %u --merge-load %u --alpha %g --beta %g%s\n",
      static_cast<unsigned long long>(so.seed), so.day_s, so.players, o.workers, o.grid,
      o.split_load, o.merge_load, o.alpha, o.beta, o.proactive ? " --proactive" : "");
  return 0;
}

}  // namespace
}  // namespace worldline::bench_director

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::err);  // the pipeline's overrun warnings would drown the table
  return worldline::bench_director::run(worldline::bench_director::parse(argc, argv));
}
