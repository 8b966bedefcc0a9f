// Hybrid logical clock (Kulkarni et al., "Logical Physical Clocks", 2014). Every action and every
// LWW write carries an Hlc; the region's ingress stamps actions with HlcClock::now().
//
// Invariants:
//  1. now() is strictly increasing, even when the physical clock steps backwards.
//  2. receive(m) returns a timestamp greater than both the last local one and m.
//  3. A remote timestamp more than max_skew_ms ahead of the local physical clock is refused and
//     leaves the clock unchanged, so one peer with a broken clock cannot drag everyone forward.
// Thread safety: an HlcClock is owned by one thread; Hlc values are plain copyable values.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <utility>

#include "crdt/result.h"

namespace worldline::crdt {

using NodeId = std::uint32_t;

struct Hlc {
  std::uint64_t physical_ms = 0;  // milliseconds since the Unix epoch, or simulated time
  std::uint32_t logical = 0;      // tie-breaking counter within one physical millisecond
  NodeId node = 0;                // the stamping node: makes the order total

  // Total order: physical, then logical, then node id.
  auto operator<=>(const Hlc&) const = default;
  bool operator==(const Hlc&) const = default;

  bool is_zero() const { return physical_ms == 0 && logical == 0 && node == 0; }
  std::string to_string() const;
};

// The source of physical time. The real node passes SystemClock; tests and the deterministic
// simulator pass ManualClock.
class PhysicalClock {
 public:
  virtual ~PhysicalClock() = default;
  virtual std::uint64_t now_ms() = 0;
};

class SystemClock final : public PhysicalClock {
 public:
  std::uint64_t now_ms() override;
};

class ManualClock final : public PhysicalClock {
 public:
  explicit ManualClock(std::uint64_t start_ms = 0) : now_(start_ms) {}
  std::uint64_t now_ms() override { return now_; }
  void set(std::uint64_t ms) { now_ = ms; }
  void advance(std::uint64_t ms) { now_ += ms; }

 private:
  std::uint64_t now_;
};

class HlcClock {
 public:
  // REQUIRES: `physical` outlives this clock.
  HlcClock(NodeId node, PhysicalClock& physical, std::uint64_t max_skew_ms);

  // Local or send event.
  Hlc now();
  // Receive event: merges a remote timestamp. Fails with kClockSkew if `remote` is more than
  // max_skew_ms ahead of the local physical clock.
  Result<Hlc> receive(const Hlc& remote);

  // Moves this clock up to `other` (same node) if it is behind: how a region's per-cell clocks
  // are kept in step at every tick boundary, so a key written by one cell and then another is
  // stamped in increasing order.
  void catch_up(const Hlc& other) {
    if (std::pair(other.physical_ms, other.logical) > std::pair(last_.physical_ms, last_.logical)) {
      last_.physical_ms = other.physical_ms;
      last_.logical = other.logical;
    }
  }

  const Hlc& last() const { return last_; }
  NodeId node() const { return last_.node; }
  PhysicalClock& physical() const { return physical_; }
  std::uint64_t max_skew_ms() const { return max_skew_ms_; }

 private:
  void bump_logical();

  PhysicalClock& physical_;
  std::uint64_t max_skew_ms_;
  Hlc last_;
};

}  // namespace worldline::crdt
