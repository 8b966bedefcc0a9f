// CausalCounter: a PN-counter that can be reset, for use inside an OrMap (stack sizes in an
// inventory). Each replica's contribution is one (dot, total) entry it replaces on every change;
// removing the map key supersedes the entries seen, while concurrent increments survive
// (observed-reset semantics).
#pragma once

#include <cstdint>

#include "crdt/causal.h"

namespace worldline::crdt {

class CausalCounter : public Causal<DotFun<std::int64_t>> {
  using Base = Causal<DotFun<std::int64_t>>;

 public:
  using Base::Base;

  // Adds `n` (negative to subtract) as replica `r`; returns the delta.
  CausalCounter add(ReplicaId r, std::int64_t n) {
    CausalCounter delta;
    std::int64_t own = 0;
    for (auto it = store_.entries.begin(); it != store_.entries.end();) {
      if (it->first.replica == r) {
        own += it->second;
        delta.ctx_.insert(it->first);
        it = store_.entries.erase(it);
      } else {
        ++it;
      }
    }
    const Dot d = ctx_.next_dot(r);
    delta.ctx_.insert(d);
    delta.store_.entries.emplace(d, own + n);
    store_.entries.emplace(d, own + n);
    return delta;
  }

  CausalCounter reset() {
    CausalCounter delta;
    collect_dots(store_, &delta.ctx_);
    store_.entries.clear();
    return delta;
  }

  std::int64_t value() const {
    // Wrapping sum: a hostile decoded state must not be able to trigger signed overflow.
    std::uint64_t sum = 0;
    for (const auto& [d, v] : store_.entries)
      sum += static_cast<std::uint64_t>(v);
    return static_cast<std::int64_t>(sum);
  }

  void join(const CausalCounter& other) { join_parts(other); }
  friend CausalCounter join(CausalCounter a, const CausalCounter& b) {
    a.join(b);
    return a;
  }
  bool operator==(const CausalCounter& o) const { return parts_equal(o); }
  std::string to_string() const {
    return "CausalCounter{" + std::to_string(value()) + "} " + parts_to_string();
  }
};

}  // namespace worldline::crdt
