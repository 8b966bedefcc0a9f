// Ingress: where an action enters the region. It is validated — a known kind, finite coordinates
// inside the world, a sane target, text within limits, a client sequence number — stamped with
// the region's HLC, and handed to the queue of its cell. A refused action gets a Reject with a
// reason the gateway sends back to the client; every refusal is counted by reason, none is silent.
// Thread safety: not thread-safe: one Ingress per producing thread. It stamps with the clock it is
// given (a reference the caller keeps alive), so that clock must not be shared with another thread.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "crdt/hlc.h"
#include "region/action.h"

namespace worldline::region {

enum class RejectReason : std::uint8_t {
  kUnknownKind,
  kNonFiniteCoordinate,
  kOutOfWorld,
  kBadTarget,  // no target where one is needed, or the actor itself
  kTextTooLong,
  kBadSequence,  // client_seq 0
  kDuplicate,    // already queued or processed (set by the scheduler's refusal)
  kClockSkew,    // the client's clock is absurdly far from ours
};
constexpr int kRejectReasons = 8;
const char* to_string(RejectReason r);

struct Reject {
  RejectReason reason;
  std::string detail;  // for the client and the log, e.g. "x is NaN"
};

// The playable volume, in world units.
struct WorldBounds {
  crdt::Vec3 min{-10'000, -1'000, -10'000};
  crdt::Vec3 max{10'000, 1'000, 10'000};
  bool contains(const crdt::Vec3& p) const;
};

struct IngressLimits {
  WorldBounds world;
  std::size_t max_text_bytes = 512;
  std::uint64_t max_client_clock_skew_ms = 24ull * 3600 * 1000;  // clients' clocks are poor
};

class Ingress {
 public:
  // REQUIRES: `clock` outlives the ingress.
  Ingress(IngressLimits limits, crdt::HlcClock& clock) : limits_(limits), clock_(clock) {}

  // Checks `raw_kind` (as received) and the action; on success stamps it. `now_ms` is the
  // region's physical time, for the client-clock check.
  std::optional<Reject> admit(int raw_kind, Action& action, std::uint64_t now_ms);
  // Counts a refusal made later in the pipeline (e.g. kDuplicate from the scheduler).
  void count(RejectReason reason) { ++rejected_[static_cast<int>(reason)]; }

  const std::array<std::uint64_t, kRejectReasons>& rejected() const { return rejected_; }
  std::uint64_t admitted() const { return admitted_; }

 private:
  std::optional<Reject> check(int raw_kind, const Action& action, std::uint64_t now_ms) const;

  IngressLimits limits_;
  crdt::HlcClock& clock_;
  std::array<std::uint64_t, kRejectReasons> rejected_{};
  std::uint64_t admitted_ = 0;
};

}  // namespace worldline::region
