// Platt calibration: the fit recovers the parameters that generated labelled scores, stays
// finite when the scores separate the classes perfectly, and shifts to another base rate exactly.
#include "region/anticheat/calibration.h"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <random>
#include <vector>

namespace worldline::region::anticheat {
namespace {

double sigmoid(double f) {
  return 1 / (1 + std::exp(-f));
}

// Labels drawn from σ(a·z + b) over z uniform in [−10, 10].
void draw(double a, double b, std::size_t n, std::uint64_t seed, std::vector<double>& z,
          std::vector<char>& label) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> score(-10, 10), unit(0, 1);
  for (std::size_t i = 0; i < n; ++i) {
    z.push_back(score(rng));
    label.push_back(unit(rng) < sigmoid(a * z.back() + b) ? 1 : 0);
  }
}

PlattFit fit(const std::vector<double>& z, const std::vector<char>& label) {
  const std::vector<bool> bits(label.begin(), label.end());
  std::unique_ptr<bool[]> flat(new bool[bits.size()]);
  for (std::size_t i = 0; i < bits.size(); ++i)
    flat[i] = bits[i];
  return fit_platt(z, std::span<const bool>(flat.get(), bits.size()));
}

TEST(AnticheatCalibration, TheFitRecoversKnownParameters) {
  // Standard errors at n = 40 000 are about 0.01 for a and 0.02 for b: the bounds are 4 of them.
  for (const auto& [a, b] : {std::pair{0.8, -1.5}, std::pair{2.0, 3.0}, std::pair{0.3, 0.0}}) {
    std::vector<double> z;
    std::vector<char> label;
    draw(a, b, 40'000, 11, z, label);
    const PlattFit f = fit(z, label);
    EXPECT_TRUE(f.converged) << a << " " << b;
    EXPECT_LT(f.iterations, 30);
    EXPECT_NEAR(f.a, a, 0.04 * std::max(1.0, a)) << "b " << b;
    EXPECT_NEAR(f.b, b, 0.08 * std::max(1.0, std::abs(b))) << "a " << a;
  }
}

TEST(AnticheatCalibration, PerfectlySeparatedScoresGiveFiniteParameters) {
  // 100 honest players at z ≤ −1, 20 cheaters at z ≥ 1: plain logistic regression has no
  // optimum here (a → ∞); on Platt's targets the fit stops with a finite a that puts the
  // extremes at the smoothed targets' side.
  std::vector<double> z;
  std::vector<char> label;
  for (int i = 0; i < 100; ++i) {
    z.push_back(-1 - i * 0.05);
    label.push_back(0);
  }
  for (int i = 0; i < 20; ++i) {
    z.push_back(1 + i * 0.1);
    label.push_back(1);
  }
  const PlattFit f = fit(z, label);
  EXPECT_TRUE(f.converged);
  EXPECT_TRUE(std::isfinite(f.a) && std::isfinite(f.b));
  EXPECT_GT(f.a, 0);
  EXPECT_LT(sigmoid(f.a * -1 + f.b), 0.5);  // the least suspicious honest player
  EXPECT_GT(sigmoid(f.a * 1 + f.b), 0.5);   // the least suspicious cheater
  // At the optimum the gradient is zero: the predictions add up to the smoothed targets,
  // (n₊ + 1)/(n₊ + 2) per cheater and 1/(n₋ + 2) per honest player, overall and weighted by z.
  double p = 0, t = 0, pz = 0, tz = 0;
  for (std::size_t i = 0; i < z.size(); ++i) {
    const double pi = sigmoid(f.a * z[i] + f.b), ti = label[i] ? 21.0 / 22 : 1.0 / 102;
    p += pi;
    t += ti;
    pz += pi * z[i];
    tz += ti * z[i];
  }
  EXPECT_NEAR(p, t, 1e-6);
  EXPECT_NEAR(pz, tz, 1e-6);
}

TEST(AnticheatCalibration, OneClassOnlyGivesTheBaseRate) {
  const std::vector<double> z = {1, 2, 3};
  const bool none[] = {false, false, false};
  const PlattFit f = fit_platt(z, none);
  EXPECT_EQ(f.a, 0);
  EXPECT_NEAR(sigmoid(f.b), 1.0 / 5, 1e-12);  // (0 + 1) / (3 + 2)
}

TEST(AnticheatCalibration, ShiftingTheBaseRateMovesTheLogOddsByTheirDifference) {
  EXPECT_NEAR(shift_base_rate(0, 0.5, 0.01), std::log(0.01 / 0.99), 1e-12);
  EXPECT_NEAR(shift_base_rate(-2, 0.4, 0.4), -2, 1e-12);
  // σ(b') at z = 0 for a fitted 50 % population and a 2 % one: the posterior odds scale by
  // the prior odds (0.02 / 0.98) / (0.5 / 0.5).
  const double b = shift_base_rate(1.0, 0.5, 0.02);
  EXPECT_NEAR(std::exp(b), std::exp(1.0) * 0.02 / 0.98, 1e-12);
}

}  // namespace
}  // namespace worldline::region::anticheat
