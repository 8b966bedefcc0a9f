// Holt's linear forecast: exact on straight lines after two samples, exact on constants, known
// effects added exactly inside their window and nowhere else, and MAPE as computed by hand.
#include "region/director/forecast.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cmath>
#include <limits>

namespace worldline::region::director {
namespace {

TEST(HoltForecast, ALinearRampIsForecastExactlyAfterTwoSamples) {
  HoltForecast f({.alpha = 1, .beta = 1});
  f.observe(0, 5);
  f.observe(1, 8);
  for (int t = 2; t <= 20; ++t)
    f.observe(t, 5 + 3.0 * t);
  EXPECT_EQ(f.trend(), 3.0);
  EXPECT_EQ(f.forecast(0), 65.0);
  EXPECT_EQ(f.forecast(10), 95.0);
  EXPECT_EQ(f.forecast(30), 155.0);
}

// Found by review: NaN options passed std::clamp, a NaN or infinite horizon was never scored
// and its queue grew for ever, a zero MAPE floor divided by zero.
TEST(HoltForecast, OptionsOutOfRangeFallBackAndAnUnscorableHorizonIsNotTracked) {
  HoltOptions o;
  o.alpha = std::nan("");
  o.beta = std::nan("");
  o.mape_floor = 0;
  o.error_horizons_s = {10, std::numeric_limits<double>::infinity(), std::nan(""), -1, 30};
  HoltForecast f(o);
  ASSERT_EQ(f.errors().size(), 2u);
  EXPECT_EQ(f.errors()[0].horizon_s, 10);
  EXPECT_EQ(f.errors()[1].horizon_s, 30);
  // Finite alpha and beta: a constant is forecast as itself (NaN would give NaN).
  for (int t = 0; t < 50; ++t)
    f.observe(t, 7);
  EXPECT_EQ(f.forecast(10), 7);
  // The floor back at 1: actuals of 0 are skipped, not divided by.
  HoltForecast zeros(o);
  for (int t = 0; t < 40; ++t)
    zeros.observe(t, 0);
  EXPECT_EQ(zeros.errors()[0].scored, 0u);
  EXPECT_EQ(zeros.errors()[0].skipped, 30u);  // the actuals at 10..39 s had a forecast
}

TEST(HoltForecast, TheHorizonIsInSecondsNotSteps) {
  HoltForecast f({.alpha = 0.5, .beta = 0.2, .step_s = 2});
  f.observe(0, 10);
  f.observe(2, 14);  // trend 4 per step of 2 s
  EXPECT_EQ(f.forecast(10), 14 + 4 * 5.0);
}

TEST(HoltForecast, ADefaultForecastIsEmptyBeforeTheFirstSampleAndNeverNegative) {
  HoltForecast f;
  EXPECT_EQ(f.forecast(10), 0.0);
  f.observe(0, 30);
  f.observe(1, 20);  // trend −10 per second
  EXPECT_EQ(f.forecast(1), 10.0);
  EXPECT_EQ(f.forecast(10), 0.0);  // −70 clamped
  HoltForecast signed_series({.clamp_nonnegative = false});
  signed_series.observe(0, 30);
  signed_series.observe(1, 20);
  EXPECT_EQ(signed_series.forecast(10), -80.0);
  signed_series.observe(2, NAN);  // ignored: level and trend as they were
  EXPECT_EQ(signed_series.observations(), 2u);
  EXPECT_EQ(signed_series.forecast(10), -80.0);
}

// For any alpha, beta in (0, 1] and any line, the forecast after warm-up is the line.
RC_GTEST_PROP(HoltForecastLaws, ALineIsForecastExactlyForAnySmoothing, ()) {
  const double alpha = *rc::gen::inRange(1, 101) / 100.0;
  const double beta = *rc::gen::inRange(1, 101) / 100.0;
  const double a = *rc::gen::inRange(0, 1000);
  const double c = *rc::gen::inRange(0, 50) / 4.0;
  HoltForecast f({.alpha = alpha, .beta = beta});
  const int n = *rc::gen::inRange(2, 200);
  for (int t = 0; t < n; ++t)
    f.observe(t, a + c * t);
  for (double h : {0.0, 10.0, 30.0, 60.0}) {
    const double want = a + c * (n - 1 + h);
    RC_ASSERT(std::abs(f.forecast(h) - want) <= 1e-9 * std::max(1.0, want));
  }
}

RC_GTEST_PROP(HoltForecastLaws, AConstantIsForecastAsItself, ()) {
  const double alpha = *rc::gen::inRange(1, 101) / 100.0;
  const double beta = *rc::gen::inRange(1, 101) / 100.0;
  const double k = *rc::gen::inRange(0, 100000) / 8.0;
  HoltForecast f({.alpha = alpha, .beta = beta});
  const int n = *rc::gen::inRange(1, 200);
  for (int t = 0; t < n; ++t)
    f.observe(t, k);
  for (double h : {0.0, 10.0, 30.0})
    RC_ASSERT(f.forecast(h) == k);
}

TEST(HoltForecast, AKnownEffectAddsExactlyItsPlayersInsideItsWindowOnly) {
  HoltForecast f;
  ASSERT_TRUE(f.add_expected(100, 50, 30));  // a world boss: 50 more players during [100, 130)
  for (int t = 0; t <= 90; ++t)
    f.observe(t, 10);
  // Now t = 90: the window is h in [10, 40).
  EXPECT_EQ(f.forecast(9), 10.0);
  EXPECT_EQ(f.forecast(9.999), 10.0);
  EXPECT_EQ(f.forecast(10), 60.0);
  EXPECT_EQ(f.forecast(25), 60.0);
  EXPECT_EQ(f.forecast(39.999), 60.0);
  EXPECT_EQ(f.forecast(40), 10.0);
  EXPECT_EQ(f.baseline(25), 10.0);
  // The crowd comes as expected: the smoother sees the baseline, so nothing is left after it.
  for (int t = 91; t < 130; ++t)
    f.observe(t, t >= 100 ? 60 : 10);
  EXPECT_EQ(f.level(), 10.0);
  EXPECT_EQ(f.trend(), 0.0);
  EXPECT_EQ(f.forecast(0), 60.0);  // t = 129, still inside
  f.observe(130, 10);
  EXPECT_EQ(f.forecast(0), 10.0);
  EXPECT_EQ(f.effect_at(129), 0.0);  // the ended effect is forgotten
}

TEST(HoltForecast, EffectsAreBoundedAndChecked) {
  HoltForecast f({.max_effects = 2});
  EXPECT_FALSE(f.add_expected(0, 10, 0));
  EXPECT_FALSE(f.add_expected(0, NAN, 5));
  EXPECT_FALSE(f.add_expected(INFINITY, 10, 5));
  EXPECT_TRUE(f.add_expected(0, 10, 5));
  EXPECT_TRUE(f.add_expected(2, -3, 5));  // a crowd leaving
  EXPECT_FALSE(f.add_expected(4, 1, 5));  // full
  EXPECT_EQ(f.effect_at(3), 7.0);
}

// Steps of 10 s, horizons 10 s (one step) and 30 s (three steps), alpha = beta = 1, so every
// forecast can be written down:
//   t   actual  level trend  forecast for t+10  for t+30
//   0   10      10    0      10                 10
//   10  20      20    10     30                 50
//   20  30      30    10     40                 60
//   30  20      20    -10    10                 0 (−10 clamped)
//   40  20      20    0      20                 20
//   50  0.5     (below the floor of 1: not scored)
// 10 s: |20−10|/20, |30−30|/30, |20−40|/20, |20−10|/20 = 0.5, 0, 1, 0.5 → MAPE 50 %.
// 30 s: at 30 the forecast from 0 (10): 0.5; at 40 the one from 10 (50): 1.5 → MAPE 100 %.
TEST(HoltForecast, MapeMatchesTheHandComputation) {
  HoltForecast f({.alpha = 1, .beta = 1, .step_s = 10, .error_horizons_s = {10, 30}});
  EXPECT_EQ(f.mape_percent(10), std::nullopt);
  for (auto [t, y] : {std::pair{0.0, 10.0},
                      {10.0, 20.0},
                      {20.0, 30.0},
                      {30.0, 20.0},
                      {40.0, 20.0},
                      {50.0, 0.5}}) {
    f.observe(t, y);
  }
  ASSERT_EQ(f.errors().size(), 2u);
  EXPECT_EQ(f.errors()[0].scored, 4u);
  EXPECT_EQ(f.errors()[0].skipped, 1u);
  EXPECT_EQ(f.mape_percent(10), 50.0);
  EXPECT_EQ(f.errors()[1].scored, 2u);
  EXPECT_EQ(f.errors()[1].skipped, 1u);
  EXPECT_EQ(f.mape_percent(30), 100.0);
  EXPECT_EQ(f.mape_percent(20), std::nullopt);  // not tracked
}

TEST(HoltForecast, AMissedActualScoresNothing) {
  HoltForecast f({.alpha = 1, .beta = 1, .step_s = 10, .error_horizons_s = {10}});
  f.observe(0, 10);
  f.observe(20, 10);  // the actual for 10 never came: its forecast is dropped
  EXPECT_EQ(f.errors()[0].scored, 0u);
  f.observe(30, 20);  // scored against the forecast made at 20 (10): 0.5
  EXPECT_EQ(f.errors()[0].scored, 1u);
  EXPECT_EQ(f.mape_percent(10), 50.0);
}

}  // namespace
}  // namespace worldline::region::director
