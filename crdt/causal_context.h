// Dots and the causal context of the dot-based CRDTs (Almeida, Shoker, Baquero 2018, §5).
// A dot (replica, n) names the n-th event of a replica. A CausalContext is the set of dots a
// state has seen, kept compact as a version vector (all dots 1..v[r]) plus a dot cloud of the
// dots past the vector that are not yet contiguous.
//
// Invariants (hold after every public call):
//  1. every version entry is > 0;
//  2. every cloud dot (r, n) has n > versions[r] + 1 — a dot that could extend the vector has been
//     folded into it, so two contexts holding the same dots are equal (canonical form).
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>

namespace worldline::crdt {

using ReplicaId = std::uint32_t;

struct Dot {
  ReplicaId replica = 0;
  std::uint64_t counter = 0;  // 1-based; 0 is never a valid dot

  auto operator<=>(const Dot&) const = default;
  bool operator==(const Dot&) const = default;
  std::string to_string() const;
};

class CausalContext {
 public:
  using Versions = std::map<ReplicaId, std::uint64_t>;

  CausalContext() = default;

  bool contains(const Dot& d) const;
  bool empty() const { return versions_.empty() && cloud_.empty(); }

  // The highest counter of `r` this context has seen (0 if none).
  std::uint64_t max_counter(ReplicaId r) const;
  // Makes a fresh dot of `r`, records it, and returns it.
  Dot next_dot(ReplicaId r);

  // REQUIRES: d.counter > 0.
  void insert(const Dot& d);
  void join(const CausalContext& other);

  // The number of dots represented (version entries count every dot they cover).
  std::uint64_t dot_count() const;
  // Calls f(dot) for every dot represented. Cost is dot_count().
  void for_each_dot(const std::function<void(const Dot&)>& f) const;

  const Versions& versions() const { return versions_; }
  const std::set<Dot>& cloud() const { return cloud_; }

  // Builds a context from decoded parts, restoring the canonical form. Returns false if a part
  // holds a zero counter.
  static bool from_parts(const Versions& versions, const std::set<Dot>& cloud, CausalContext* out);

  bool operator==(const CausalContext&) const = default;
  std::string to_string() const;

 private:
  // Folds cloud dots that extend the vector into it (invariant 2).
  void compact();

  Versions versions_;
  std::set<Dot> cloud_;
};

}  // namespace worldline::crdt
