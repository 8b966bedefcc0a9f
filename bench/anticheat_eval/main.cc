// anticheat_eval: how well the region's cheat detector (region/anticheat/) tells labelled
// simulated cheaters from honest players, and what it costs a tick (issue #16's targets).
//
// 1. Calibration: labelled populations (population.h: 400 honest players of five kinds, 40 of
//    each of nine cheats, at once in one region, through the real pipeline and game rules) on
//    the calibration seeds; Platt's a and b fitted on each player's highest score of the run.
// 2. Evaluation, on other seeds, with the fitted a and b in the detector (flags at its flag_at):
//    per cheat recall, precision (against all honest players of the run), ROC AUC against the
//    honest, time to the first flag (p50/p95); per honest kind the share flagged; the
//    reliability table (predicted confidence against the observed share of cheaters).
// 3. Cost: the pipeline's tick at 5 000 actions with the detector as its observer and without,
//    interleaved (tick_cost.h).
//
// Rerun (release tree):
//   cmake -S . -B build/bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DWORLDLINE_TESTS=OFF
//     -DWORLDLINE_BENCH=ON && cmake --build build/bench --target anticheat_eval  (one line)
//   build/bench/bench/anticheat_eval [--calib-seeds 3] [--eval-seeds 8] [--seconds 120]
//     [--scale 1] [--cost-pairs 300] [--cost-workers 1,2] [--no-cost] [--no-eval]
//   (--cost-workers 0: only observe() alone, replayed on one thread)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "bench/anticheat_eval/population.h"
#include "bench/anticheat_eval/tick_cost.h"
#include "region/anticheat/calibration.h"

namespace worldline::bench_ac {
namespace {

namespace ac = region::anticheat;

struct Options {
  int calib_seeds = 3, eval_seeds = 8;
  double seconds = 120, scale = 1;
  std::uint64_t cost_pairs = 300;
  std::vector<int> cost_workers = {1, 2};
  bool cost = true, eval = true;
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
    if (arg == "--calib-seeds") {
      o.calib_seeds = std::stoi(next());
    } else if (arg == "--eval-seeds") {
      o.eval_seeds = std::stoi(next());
    } else if (arg == "--seconds") {
      o.seconds = std::stod(next());
    } else if (arg == "--scale") {
      o.scale = std::stod(next());
    } else if (arg == "--cost-pairs") {
      o.cost_pairs = std::stoull(next());
    } else if (arg == "--cost-workers") {
      o.cost_workers.clear();
      const std::string list = next();
      for (std::size_t p = 0; p < list.size();) {
        const std::size_t comma = list.find(',', p);
        o.cost_workers.push_back(std::stoi(list.substr(p, comma - p)));
        p = comma == std::string::npos ? list.size() : comma + 1;
      }
    } else if (arg == "--no-cost") {
      o.cost = false;
    } else if (arg == "--no-eval") {
      o.eval = false;
    } else {
      std::fprintf(stderr, "unknown argument %s (see the header of bench/anticheat_eval/main.cc)\n",
                   arg.c_str());
      std::exit(2);
    }
  }
  return o;
}

double sigmoid(double z) {
  return 1 / (1 + std::exp(-z));
}

// The probability that a random cheater scores above a random honest player (ties: half).
double auc(std::vector<double> pos, std::vector<double> neg) {
  if (pos.empty() || neg.empty()) return 0;
  std::sort(neg.begin(), neg.end());
  double sum = 0;
  for (double p : pos) {
    const auto lo = std::lower_bound(neg.begin(), neg.end(), p);
    const auto hi = std::upper_bound(neg.begin(), neg.end(), p);
    sum += static_cast<double>(lo - neg.begin()) + 0.5 * static_cast<double>(hi - lo);
  }
  return sum / (static_cast<double>(pos.size()) * static_cast<double>(neg.size()));
}

// The upper end of the 95 % Wilson interval of k in n.
double wilson_upper(double k, double n) {
  if (n <= 0) return 1;
  const double z = 1.96, p = k / n;
  const double centre = p + z * z / (2 * n);
  const double half = z * std::sqrt(p * (1 - p) / n + z * z / (4 * n * n));
  return (centre + half) / (1 + z * z / n);
}

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size()))) - 1 +
           (q == 0 ? 1 : 0)];
}

std::vector<PlayerResult> play(const Options& o, std::uint64_t first_seed, int seeds,
                               const ac::AnticheatConfig& config, const char* what) {
  std::vector<PlayerResult> all;
  for (int s = 0; s < seeds; ++s) {
    RunOptions ro;
    ro.seed = first_seed + static_cast<std::uint64_t>(s);
    ro.seconds = o.seconds;
    ro.scale = o.scale;
    ro.detector = config;
    RunStats st;
    const auto players = run_population(ro, &st);
    std::printf("  %s seed %llu: %zu players, %llu actions in %llu ticks, %llu flags, %.1f s\n",
                what, static_cast<unsigned long long>(ro.seed), players.size(),
                static_cast<unsigned long long>(st.actions),
                static_cast<unsigned long long>(st.ticks),
                static_cast<unsigned long long>(st.flags), st.wall_s);
    std::fflush(stdout);
    all.insert(all.end(), players.begin(), players.end());
  }
  return all;
}

// Per kind, each check's highest feature over the run (1: at its threshold): the median player's
// and the highest player's — what separates the kinds, and what an honest kind comes close to.
void features(const std::vector<PlayerResult>& players) {
  std::printf("\nChecks' features (max over the run; median player / p95 player / max player)\n");
  std::printf("%-18s", "kind");
  for (int c = 0; c < ac::kChecks; ++c)
    std::printf(" %18s", ac::to_string(static_cast<ac::Check>(c)));
  std::printf("\n");
  for (int k = 0; k < kKinds; ++k) {
    std::printf("%-18s", kinds()[static_cast<std::size_t>(k)].name);
    for (std::size_t c = 0; c < ac::kChecks; ++c) {
      std::vector<double> v;
      for (const PlayerResult& p : players)
        if (static_cast<int>(p.kind) == k) v.push_back(p.max_feature[c]);
      std::printf("  %5.2f/%5.2f/%5.2f", quantile(v, 0.5), quantile(v, 0.95),
                  v.empty() ? NAN : *std::max_element(v.begin(), v.end()));
    }
    std::printf("\n");
  }
}

void report(const std::vector<PlayerResult>& players, const ac::PlattFit& fit) {
  features(players);
  std::vector<double> honest_z;
  double honest_n = 0, honest_flagged = 0;
  for (const PlayerResult& p : players) {
    if (info(p.kind).cheat) continue;
    honest_z.push_back(p.max_z);
    honest_n += 1;
    honest_flagged += p.detected_s ? 1 : 0;
  }
  std::printf(
      "\nCheats (precision: against every honest player of the runs; AUC: max score "
      "against the honest; time to the first flag after the cheat's first act)\n");
  std::printf("%-12s %-8s %5s %7s %7s %9s %7s %8s %8s %8s  %s\n", "kind", "group", "n", "recall",
              "FPR", "precision", "AUC", "ttd_p50", "ttd_p95", "ttd_max", "first flag by");
  double all_tp = 0;
  for (int k = 0; k < kKinds; ++k) {
    const KindInfo& ki = kinds()[static_cast<std::size_t>(k)];
    if (!ki.cheat) continue;
    std::vector<double> z, ttd;
    std::map<std::string, int> by;
    for (const PlayerResult& p : players) {
      if (static_cast<int>(p.kind) != k) continue;
      z.push_back(p.max_z);
      if (p.detected_s) {
        ttd.push_back(*p.detected_s);
        ++by[p.first_checks];
      }
    }
    const double n = static_cast<double>(z.size()), tp = static_cast<double>(ttd.size());
    all_tp += tp;
    std::string checks;
    std::vector<std::pair<int, std::string>> sorted;
    for (const auto& [c, count] : by)
      sorted.emplace_back(-count, c);
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t i = 0; i < sorted.size() && i < 3; ++i)
      checks += (i ? ", " : "") + sorted[i].second + " " + std::to_string(-sorted[i].first);
    std::printf("%-12s %-8s %5.0f %7.3f %7.4f %9.4f %7.4f %8.1f %8.1f %8.1f  %s\n", ki.name,
                ki.group, n, n ? tp / n : 0, honest_n ? honest_flagged / honest_n : 0,
                tp + honest_flagged > 0 ? tp / (tp + honest_flagged) : 0, auc(z, honest_z),
                quantile(ttd, 0.5), quantile(ttd, 0.95),
                ttd.empty() ? NAN : *std::max_element(ttd.begin(), ttd.end()), checks.c_str());
  }
  std::printf("all cheats: precision %.4f; honest FPR %.4f (%.0f of %.0f)\n",
              all_tp + honest_flagged > 0 ? all_tp / (all_tp + honest_flagged) : 0,
              honest_n ? honest_flagged / honest_n : 0, honest_flagged, honest_n);

  std::printf("\nHonest players flagged (95 %% upper bound: Wilson)\n");
  std::printf("%-18s %6s %8s %9s %9s %9s\n", "kind", "n", "flagged", "flagged%", "upper95%",
              "max_conf");
  double lag_n = 0, lag_flagged = 0;
  for (int k = 0; k < kKinds; ++k) {
    const KindInfo& ki = kinds()[static_cast<std::size_t>(k)];
    if (ki.cheat) continue;
    double n = 0, f = 0, maxz = -1e9;
    for (const PlayerResult& p : players) {
      if (static_cast<int>(p.kind) != k) continue;
      n += 1;
      f += p.detected_s ? 1 : 0;
      maxz = std::max(maxz, p.max_z);
    }
    if (lag_spiky(static_cast<Kind>(k))) {
      lag_n += n;
      lag_flagged += f;
    }
    std::printf("%-18s %6.0f %8.0f %9.3f %9.3f %9.4f\n", ki.name, n, f, n ? 100 * f / n : 0,
                100 * wilson_upper(f, n), sigmoid(fit.a * maxz + fit.b));
  }
  std::printf("%-18s %6.0f %8.0f %9.3f %9.3f\n", "with lag spikes", lag_n, lag_flagged,
              lag_n ? 100 * lag_flagged / lag_n : 0, 100 * wilson_upper(lag_flagged, lag_n));
  // Each flagged honest player: what flagged it (the checks at or over 1 in the first flag) and
  // every check's highest feature — which check's tail it was.
  for (const PlayerResult& p : players) {
    if (info(p.kind).cheat || !p.detected_s) continue;
    std::printf("  flagged honest %s at %.1f s by '%s':", info(p.kind).name, *p.detected_s,
                p.first_checks.c_str());
    for (std::size_t c = 0; c < ac::kChecks; ++c)
      if (p.max_feature[c] >= 0.1)
        std::printf(" %s %.2f", ac::to_string(static_cast<ac::Check>(c)), p.max_feature[c]);
    std::printf("\n");
  }

  std::printf(
      "\nReliability (confidence σ(a·max z + b) in bins against the observed share of "
      "cheaters)\n%-11s %6s %10s %10s\n",
      "bin", "n", "predicted", "observed");
  for (int b = 0; b < 10; ++b) {
    double n = 0, pred = 0, cheat = 0;
    for (const PlayerResult& p : players) {
      const double c = sigmoid(fit.a * p.max_z + fit.b);
      if (std::min(9, static_cast<int>(c * 10)) != b) continue;
      n += 1;
      pred += c;
      cheat += info(p.kind).cheat ? 1 : 0;
    }
    std::printf("[%.1f, %.1f%c %6.0f %10.3f %10.3f\n", b / 10.0, (b + 1) / 10.0, b == 9 ? ']' : ')',
                n, n ? pred / n : NAN, n ? cheat / n : NAN);
  }
}

}  // namespace
}  // namespace worldline::bench_ac

int main(int argc, char** argv) {
  using namespace worldline::bench_ac;
  namespace ac = worldline::region::anticheat;
  const Options o = parse(argc, argv);
  // The pipeline warns of overrun ticks: on this shared machine they say nothing about the
  // detector (the population's time is simulated; the cost is measured interleaved).
  spdlog::set_level(spdlog::level::err);
  std::printf(
      "anticheat_eval: %d calibration seeds (1..), %d evaluation seeds (1001..), %.0f s "
      "each, scale %.2f\n",
      o.calib_seeds, o.eval_seeds, o.seconds, o.scale);
  std::printf("population per run:");
  for (const KindInfo& k : kinds())
    std::printf(" %s %ld,", k.name, std::lround(k.per_run * o.scale));
  std::printf("\n");

  if (o.eval) {
    ac::AnticheatConfig config;  // the defaults (detector.h)
    std::printf("\nCalibration\n");
    const auto calib = play(o, 1, o.calib_seeds, config, "calibration");
    std::vector<double> z;
    std::unique_ptr<bool[]> cheat(new bool[calib.size()]);
    double cheaters = 0;
    for (std::size_t i = 0; i < calib.size(); ++i) {
      z.push_back(calib[i].max_z);
      cheat[i] = info(calib[i].kind).cheat;
      cheaters += cheat[i] ? 1 : 0;
    }
    // The honest population's hit rate (aimed attacks that reached the aim test), and the
    // Beta(α, β) it fits by the method of moments, the binomial noise of each player's rate
    // taken out — what hit_ratio's prior stands for (the default is a weaker Beta(4, 2)).
    {
      double n = 0, sum = 0, sum2 = 0, noise = 0, best = 0;
      for (const PlayerResult& p : calib) {
        if (info(p.kind).cheat || p.attempts < 20) continue;
        const double r = p.hits / p.attempts;
        n += 1;
        sum += r;
        sum2 += r * r;
        noise += r * (1 - r) / p.attempts;
        best = std::max(best, r);
      }
      const double m = sum / n, var = sum2 / n - m * m - noise / n;
      const double strength = var > 0 ? m * (1 - m) / var - 1 : NAN;
      std::printf(
          "honest hit rate (%.0f players with >= 20 aimed attempts): mean %.3f, best %.3f; "
          "Beta fit alpha %.2f, beta %.2f; configured prior Beta(%.1f, %.1f), threshold %.2f\n",
          n, m, best, m * strength, (1 - m) * strength, config.aim.hit_prior_alpha,
          config.aim.hit_prior_beta, config.aim.hit_rate_threshold);
    }
    const ac::PlattFit fit = ac::fit_platt(z, std::span<const bool>(cheat.get(), calib.size()));
    const double rate = cheaters / static_cast<double>(calib.size());
    std::printf(
        "Platt fit on max z: a = %.4f, b = %.4f (%s after %d iterations, mean log loss "
        "%.4f); defaults a = %.2f, b = %.2f\n",
        fit.a, fit.b, fit.converged ? "converged" : "NOT converged", fit.iterations, fit.log_loss,
        config.calibration_a, config.calibration_b);
    std::printf(
        "  base rate of cheaters in the fit: %.3f; flag_at %.2f means z ≥ %.3f; for a "
        "1 %% base rate b would be %.3f\n",
        rate, config.flag_at, (std::log(config.flag_at / (1 - config.flag_at)) - fit.b) / fit.a,
        ac::shift_base_rate(fit.b, rate, 0.01));
    config.calibration_a = fit.a;
    config.calibration_b = fit.b;
    std::printf("\nEvaluation (other seeds, calibrated)\n");
    const auto eval = play(o, 1001, o.eval_seeds, config, "evaluation");
    report(eval, fit);
  }
  if (o.cost) {
    std::printf(
        "\nCost per tick: 10 000 players, 5 000 actions a tick (60 %% moves, 25 %% "
        "attacks, 15 %% emotes), %llu interleaved triples (with, without, timed inside)\n",
        static_cast<unsigned long long>(o.cost_pairs));
    std::printf("%7s %12s %12s %12s %12s %12s %9s %10s\n", "workers", "without_us", "with_us",
                "diff_p50_us", "diff_tm_us", "inside_us", "%_tick", "%_50ms");
    for (int w : o.cost_workers) {
      if (w <= 0) continue;  // --cost-workers 0: observe() alone
      const TickCost c = measure_tick_cost(w, o.cost_pairs, 5);
      std::printf("%7d %12.0f %12.0f %12.0f %12.0f %12.0f %9.2f %10.2f\n", c.workers,
                  c.without_p50_us, c.with_p50_us, c.diff_p50_us, c.diff_mean_us, c.inside_us,
                  c.pct_of_tick, c.pct_of_period);
      std::printf(
          "        through the tap (detector on its own thread, the node's default): tick %.0f us, "
          "+%.0f us (%.2f %% of the tick) on the tick's path; its thread %.0f us a tick beside "
          "it; steady runs without %.0f us, with the tap %.0f us (%+.2f %%), inline %.0f us, "
          "%llu waits\n",
          c.tap_p50_us, c.tap_diff_p50_us, c.tap_pct_of_tick, c.tap_thread_us, c.run_without_p50_us,
          c.run_tap_p50_us, c.run_pct_of_tick, c.run_inline_p50_us,
          static_cast<unsigned long long>(c.tap_waits));
      std::printf("        paced at 50 ms (3 × 40 ticks a mode, interleaved): tick p50 / p99 us:");
      for (int m = 0; m < 4; ++m) {
        std::printf("%s %s %.0f / %.0f", m ? ";" : "", TickCost::kPacedModes[m], c.paced_p50_us[m],
                    c.paced_p99_us[m]);
        if (m == 1 || m == 2)
          std::printf(" (%llu waits)", static_cast<unsigned long long>(c.paced_waits[m]));
      }
      std::printf("\n");
      std::fflush(stdout);
    }
    const ObserveCost oc = measure_observe_cost(40, 20, 5);
    std::printf(
        "observe() alone, one thread, the load's recorded stream replayed: %.1f ns an action "
        "(median of 20 rounds; fastest %.1f; %llu actions; the replay loop's own %.1f ns "
        "subtracted); record %zu bytes a player\n",
        oc.ns_per_action, oc.min_ns_per_action, static_cast<unsigned long long>(oc.actions),
        oc.loop_ns_per_action, ac::Detector::bytes_per_player());
  }
  std::printf(
      "\nrerun: build/bench/bench/anticheat_eval --calib-seeds %d --eval-seeds %d "
      "--seconds %.0f --scale %.2f --cost-pairs %llu\n",
      o.calib_seeds, o.eval_seeds, o.seconds, o.scale,
      static_cast<unsigned long long>(o.cost_pairs));
  return 0;
}
