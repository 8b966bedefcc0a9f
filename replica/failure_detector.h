// PhiAccrualDetector: how suspicious a peer's silence is (Hayashibara et al., 2004), assuming
// exponentially distributed heartbeat gaps: phi = (time since last heard / mean gap) · log10(e).
// phi 1 means a 10% chance the peer is still alive and merely late, phi 8 one in 10^8.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <optional>

namespace worldline::replica {

class PhiAccrualDetector {
 public:
  explicit PhiAccrualDetector(double threshold = 8.0, std::size_t window = 100)
      : threshold_(threshold), window_(window) {}

  void heard(std::uint64_t now_ms) {
    if (last_ms_ && now_ms >= *last_ms_) {
      gaps_.push_back(static_cast<double>(now_ms - *last_ms_));
      sum_ += gaps_.back();
      if (gaps_.size() > window_) {
        sum_ -= gaps_.front();
        gaps_.pop_front();
      }
    }
    last_ms_ = now_ms;
  }

  double phi(std::uint64_t now_ms) const {
    if (!last_ms_) return 1e9;  // never heard: as suspicious as it gets
    const double mean = gaps_.empty() ? 1000.0 : std::max(1.0, sum_ / gaps_.size());
    const double since = now_ms > *last_ms_ ? static_cast<double>(now_ms - *last_ms_) : 0.0;
    return since / mean * 0.4342944819032518;
  }

  bool up(std::uint64_t now_ms) const { return phi(now_ms) < threshold_; }
  bool ever_heard() const { return last_ms_.has_value(); }
  std::uint64_t last_heard_ms() const { return last_ms_.value_or(0); }

 private:
  double threshold_;
  std::size_t window_;
  std::deque<double> gaps_;
  double sum_ = 0;
  std::optional<std::uint64_t> last_ms_;
};

}  // namespace worldline::replica
