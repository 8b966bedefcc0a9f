#include "region/anticheat/calibration.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace worldline::region::anticheat {
namespace {

// −[t·log σ(f) + (1 − t)·log(1 − σ(f))], stable for large |f|.
double loss(double f, double t) {
  // log σ(f) = −log(1 + e^{−f}); log(1 − σ(f)) = −log(1 + e^{f}).
  const double log1pexp_neg = f >= 0 ? std::log1p(std::exp(-f)) : -f + std::log1p(std::exp(f));
  const double log1pexp_pos = f >= 0 ? f + std::log1p(std::exp(-f)) : std::log1p(std::exp(f));
  return t * log1pexp_neg + (1 - t) * log1pexp_pos;
}

double sigmoid(double f) {
  return f >= 0 ? 1 / (1 + std::exp(-f)) : std::exp(f) / (1 + std::exp(f));
}

}  // namespace

PlattFit fit_platt(std::span<const double> z, std::span<const bool> cheat, int max_iterations) {
  assert(z.size() == cheat.size());
  const std::size_t n = std::min(z.size(), cheat.size());
  double pos = 0;
  for (std::size_t i = 0; i < n; ++i)
    pos += cheat[i] ? 1 : 0;
  const double neg = static_cast<double>(n) - pos;
  const double hi = (pos + 1) / (pos + 2), lo = 1 / (neg + 2);
  auto target = [&](std::size_t i) { return cheat[i] ? hi : lo; };

  PlattFit fit;
  if (pos == 0 || neg == 0) {
    const double rate = (pos + 1) / (static_cast<double>(n) + 2);
    fit.a = 0;
    fit.b = std::log(rate / (1 - rate));
    fit.converged = true;
    return fit;
  }
  auto objective = [&](double a, double b) {
    double sum = 0;
    for (std::size_t i = 0; i < n; ++i)
      sum += loss(a * z[i] + b, target(i));
    return sum;
  };
  // Start where Platt does: a = 0, b = the log-odds of the base rate.
  double a = 0, b = std::log((pos + 1) / (neg + 1));
  double f = objective(a, b);
  for (fit.iterations = 0; fit.iterations < max_iterations; ++fit.iterations) {
    // Gradient and Hessian of the summed loss in (a, b).
    double ga = 0, gb = 0, haa = 1e-12, hab = 0, hbb = 1e-12;
    for (std::size_t i = 0; i < n; ++i) {
      const double p = sigmoid(a * z[i] + b);
      const double d = p - target(i), w = p * (1 - p);
      ga += d * z[i];
      gb += d;
      haa += w * z[i] * z[i];
      hab += w * z[i];
      hbb += w;
    }
    // Converged: the gradient is zero to rounding (relative to the number of players).
    const double tolerance = 1e-9 * static_cast<double>(n);
    if (std::abs(ga) < tolerance && std::abs(gb) < tolerance) {
      fit.converged = true;
      break;
    }
    const double det = haa * hbb - hab * hab;
    const double da = -(hbb * ga - hab * gb) / det, db = -(-hab * ga + haa * gb) / det;
    // Backtracking: halve the Newton step until the loss falls enough (Armijo).
    double step = 1;
    const double slope = ga * da + gb * db;  // < 0: the Hessian is positive definite
    // Or the Newton decrement (what a full step would gain, twice over) is below rounding.
    if (-slope < 1e-12 * static_cast<double>(n)) {
      fit.converged = true;
      break;
    }
    double next = f;
    for (; step >= 1e-10; step /= 2) {
      next = objective(a + step * da, b + step * db);
      if (next <= f + 1e-4 * step * slope) break;
    }
    if (step < 1e-10) {  // no progress possible: at the optimum to machine precision
      fit.converged = true;
      break;
    }
    a += step * da;
    b += step * db;
    f = next;
  }
  fit.a = a;
  fit.b = b;
  fit.log_loss = f / static_cast<double>(n);
  return fit;
}

double shift_base_rate(double b, double fitted_rate, double rate) {
  auto logit = [](double p) { return std::log(p / (1 - p)); };
  return b + logit(rate) - logit(fitted_rate);
}

}  // namespace worldline::region::anticheat
