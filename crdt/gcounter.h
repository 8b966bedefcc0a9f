// GCounter and PNCounter: state-based counters with delta mutators. A GCounter is a map replica →
// count joined by pointwise max; a PNCounter is two of them (increments, decrements).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "crdt/causal_context.h"

namespace worldline::crdt {

class GCounter {
 public:
  using Entries = std::map<ReplicaId, std::uint64_t>;

  GCounter() = default;
  explicit GCounter(Entries entries) : entries_(std::move(entries)) {}

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
