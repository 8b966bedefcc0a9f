// GCounter and PNCounter: state-based counters with delta mutators. A GCounter is a map replica →
// count joined by pointwise max; a PNCounter is two of them (increments, decrements).
//
// The map is a sorted vector with room for two replicas inline: a game's counters (health, kills)
// are written by one or two regions, and the tick reads, copies and joins them by the thousand —
// a node per entry cost an allocation per copy and a pointer chase per read.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>

// GCC 12 warns of a memmove over-read inside small_vector's insertion code that cannot happen
// (the length is the element count, checked before); the warning is silenced for Boost's code only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstringop-overread"
#endif
#include <boost/container/small_vector.hpp>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include "crdt/causal_context.h"

namespace worldline::crdt {

class GCounter {
 public:
  // Ascending by replica, no replica twice, no zero count.
  using Entries = boost::container::small_vector<std::pair<ReplicaId, std::uint64_t>, 2>;

  GCounter() = default;
  // REQUIRES: no zero count (a decoder rejects them first).
  explicit GCounter(const std::map<ReplicaId, std::uint64_t>& counts)
      : entries_(counts.begin(), counts.end()) {}

  // Adds `n` as replica `r`; returns the delta (r's new total).
  GCounter increment(ReplicaId r, std::uint64_t n = 1);

  std::uint64_t value() const;
  std::uint64_t contribution(ReplicaId r) const;
  const Entries& entries() const { return entries_; }

  void join(const GCounter& other);
  friend GCounter join(GCounter a, const GCounter& b) {
    a.join(b);
    return a;
  }
  bool operator==(const GCounter&) const = default;
  std::string to_string() const;

 private:
  Entries entries_;  // no zero entries
};

class PNCounter {
 public:
  PNCounter() = default;
  PNCounter(GCounter positive, GCounter negative)
      : p_(std::move(positive)), n_(std::move(negative)) {}

  PNCounter increment(ReplicaId r, std::uint64_t n = 1);
  PNCounter decrement(ReplicaId r, std::uint64_t n = 1);

  std::int64_t value() const;
  const GCounter& positive() const { return p_; }
  const GCounter& negative() const { return n_; }

  void join(const PNCounter& other);
  friend PNCounter join(PNCounter a, const PNCounter& b) {
    a.join(b);
    return a;
  }
  bool operator==(const PNCounter&) const = default;
  std::string to_string() const;

 private:
  GCounter p_, n_;
};

}  // namespace worldline::crdt
