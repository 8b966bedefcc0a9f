// Histogram: how many values fell in each bucket of fixed upper bounds, the last bucket taking
// the rest. The replica (convergence time), the journal (commit latency) and the region (tick
// duration) report their latencies with it; the gateway will export them as Prometheus histograms.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

namespace worldline::replica {

class Histogram {
 public:
  // REQUIRES: `upper_bounds` ascending.
  explicit Histogram(std::vector<double> upper_bounds)
      : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {}

  void record(double value) {
    const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), value);
    ++counts_[static_cast<std::size_t>(it - bounds_.begin())];
    sum_ += value;
  }
  // Adds another histogram's counts. REQUIRES: the same bounds.
  void merge(const Histogram& other) {
    for (std::size_t i = 0; i < counts_.size() && i < other.counts_.size(); ++i)
      counts_[i] += other.counts_[i];
    sum_ += other.sum_;
  }
  double sum() const { return sum_; }
  const std::vector<double>& bounds() const { return bounds_; }

  std::uint64_t count() const {
    std::uint64_t n = 0;
    for (auto c : counts_)
      n += c;
    return n;
  }

  // (upper bound, count) per bucket; the last bound is +infinity.
  std::vector<std::pair<double, std::uint64_t>> buckets() const {
    std::vector<std::pair<double, std::uint64_t>> out;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      out.emplace_back(i < bounds_.size() ? bounds_[i] : std::numeric_limits<double>::infinity(),
                       counts_[i]);
    }
    return out;
  }

  // The upper bound of the bucket holding the q-quantile (0 < q <= 1); 0 when empty.
  double quantile_bound(double q) const {
    const std::uint64_t total = count();
    if (total == 0) return 0;
    std::uint64_t seen = 0;
    for (const auto& [bound, n] : buckets()) {
      seen += n;
      if (static_cast<double>(seen) >= q * static_cast<double>(total)) return bound;
    }
    return std::numeric_limits<double>::infinity();
  }

 private:
  std::vector<double> bounds_;
  std::vector<std::uint64_t> counts_;
  double sum_ = 0;  // of every recorded value (Prometheus' _sum)
};

}  // namespace worldline::replica
