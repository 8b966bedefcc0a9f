#include "crdt/hlc.h"

#include <algorithm>
#include <chrono>
#include <limits>

namespace worldline::crdt {

std::string Hlc::to_string() const {
  return std::to_string(physical_ms) + "." + std::to_string(logical) + "@" + std::to_string(node);
}

std::uint64_t SystemClock::now_ms() {
  using namespace std::chrono;
  return static_cast<std::uint64_t>(
      duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

HlcClock::HlcClock(NodeId node, PhysicalClock& physical, std::uint64_t max_skew_ms)
    : physical_(physical), max_skew_ms_(max_skew_ms) {
  last_.node = node;
}

// The logical counter is 32 bits; if a millisecond ever saw 2^32 events we move the logical
// physical part forward instead of wrapping, which keeps invariant 1.
void HlcClock::bump_logical() {
  if (last_.logical == std::numeric_limits<std::uint32_t>::max()) {
    ++last_.physical_ms;
    last_.logical = 0;
  } else {
    ++last_.logical;
  }
}

Hlc HlcClock::now() {
  const std::uint64_t pt = physical_.now_ms();
  if (pt > last_.physical_ms) {
    last_.physical_ms = pt;
    last_.logical = 0;
  } else {
    bump_logical();
  }
  return last_;
}

Result<Hlc> HlcClock::receive(const Hlc& remote) {
  const std::uint64_t pt = physical_.now_ms();
  if (remote.physical_ms > pt && remote.physical_ms - pt > max_skew_ms_) {
    return make_error(ErrorCode::kClockSkew, "remote timestamp " + remote.to_string() + " is " +
                                                 std::to_string(remote.physical_ms - pt) +
                                                 " ms ahead of local physical time (max skew " +
                                                 std::to_string(max_skew_ms_) + " ms)");
  }
  const std::uint64_t l_old = last_.physical_ms;
  const std::uint64_t l_new = std::max({l_old, remote.physical_ms, pt});
  if (l_new == l_old && l_new == remote.physical_ms) {
    last_.logical = std::max(last_.logical, remote.logical);
    bump_logical();
  } else if (l_new == l_old) {
    bump_logical();
  } else if (l_new == remote.physical_ms) {
    last_.physical_ms = l_new;
    last_.logical = remote.logical;
    bump_logical();
  } else {
    last_.physical_ms = l_new;
    last_.logical = 0;
  }
  return last_;
}

}  // namespace worldline::crdt
