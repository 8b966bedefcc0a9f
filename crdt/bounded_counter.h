// BoundedCounter: a counter that no merge ever takes below its bound (gold, ammunition, stacks),
// after Balegas et al., "Extending eventually consistent cloud databases for enforcing numeric
// invariants" (2015). Value above the bound is split into escrow rights held per replica: an
// increment grants rights to the replica that made it, a decrement spends the local replica's
// rights and fails when they do not cover it, and rights can be transferred to another replica.
// Since each replica spends only rights it provably holds, the sum of all rights — value − bound —
// is never negative on any replica, whatever order states are joined in.
//
// State: increments[r], decrements[r] and transfers[(from, to)], each only growing; join is
// pointwise max. Only replica r writes increments[r], decrements[r] and transfers[(r, *)].
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "crdt/causal_context.h"
#include "crdt/result.h"

namespace worldline::crdt {

class BoundedCounter {
 public:
  using PerReplica = std::map<ReplicaId, std::uint64_t>;
  using Transfers = std::map<std::pair<ReplicaId, ReplicaId>, std::uint64_t>;

  explicit BoundedCounter(std::int64_t bound = 0) : bound_(bound) {}
  BoundedCounter(std::int64_t bound, PerReplica increments, PerReplica decrements,
                 Transfers transfers);

  // Adds `n` as replica `r`, granting `r` n rights; returns the delta.
  BoundedCounter increment(ReplicaId r, std::uint64_t n);
  // Subtracts `n` as replica `r`. Fails with kInsufficientRights (and changes nothing) unless r's
  // rights cover n.
  Result<BoundedCounter> decrement(ReplicaId r, std::uint64_t n);
  // Moves `n` rights from `from` to `to`. Fails with kInsufficientRights unless from's rights cover
  // n, or kInvalidArgument if from == to.
  Result<BoundedCounter> transfer(ReplicaId from, ReplicaId to, std::uint64_t n);

  std::int64_t bound() const { return bound_; }
  std::int64_t value() const;
  // The rights `r` holds as far as this replica knows (a lower bound of r's own view).
  std::int64_t rights(ReplicaId r) const;

  const PerReplica& increments() const { return inc_; }
  const PerReplica& decrements() const { return dec_; }
  const Transfers& transfers() const { return xfer_; }

  // REQUIRES: bound() == other.bound() (the bound is part of the component's type); throws
  // std::logic_error otherwise.
  void join(const BoundedCounter& other);
  friend BoundedCounter join(BoundedCounter a, const BoundedCounter& b) {
    a.join(b);
    return a;
  }
  bool operator==(const BoundedCounter&) const = default;
  std::string to_string() const;

  // True if no replica's rights are negative and nothing is transferred to itself. Always true of
  // a state built by the mutators and joins; a delta alone may fail it (a transfer without the
  // increments behind it), so a replica checks it on the state after joining a remote delta.
  bool well_formed() const;

 private:
  std::int64_t bound_;
  PerReplica inc_, dec_;  // no zero entries
  Transfers xfer_;        // no zero entries, no self-transfers
};

}  // namespace worldline::crdt
