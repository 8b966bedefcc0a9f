// Calibration of the detector's score: fitting the Platt parameters (AnticheatConfig::
// calibration_a, calibration_b) so that confidence = σ(a·z + b) is the observed probability of
// cheating among players with score z. Fitted offline on labelled players (bench/anticheat_eval
// on simulated populations; later on reviewers' verdicts). Plain code, no I/O.
//
// The fit is Platt's (1999) with the numerics of Lin, Lin and Weng (2007): maximum likelihood
// of the labels under σ(a·z + b), by Newton's method with a backtracking line search, on the
// targets (n₊ + 1)/(n₊ + 2) for cheaters and 1/(n₋ + 2) for honest players rather than 1 and 0 —
// a prior that keeps a and b finite when the scores separate the classes perfectly (the usual
// case on simulated cheats), where plain logistic regression would let a grow without bound.
#pragma once

#include <cstddef>
#include <span>

namespace worldline::region::anticheat {

struct PlattFit {
  double a = 1, b = 0;  // confidence = σ(a·z + b)
  int iterations = 0;
  bool converged = false;
  double log_loss = 0;  // mean, on the smoothed targets, at (a, b)
};

// REQUIRES: z.size() == cheat.size(). With no cheater or no honest player the result is a = 0
// and b the log-odds of the smoothed base rate (nothing to separate).
PlattFit fit_platt(std::span<const double> z, std::span<const bool> cheat,
                   int max_iterations = 100);

// The b that gives the same a a different base rate of cheating: the fit's confidence is the
// probability among a population with `fitted_rate` cheaters; a region whose rate is `rate`
// shifts b by the difference of their log-odds (Bayes' rule, the likelihood ratio unchanged).
double shift_base_rate(double b, double fitted_rate, double rate);

}  // namespace worldline::region::anticheat
