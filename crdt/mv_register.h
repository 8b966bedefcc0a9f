// MvRegister<T>: multi-value register. A write supersedes every value it has seen; concurrent
// writes are all kept until a later write supersedes them, so a conflict is visible to the reader
// (values().size() > 1) instead of being decided silently.
#pragma once

#include <algorithm>
#include <vector>

#include "crdt/causal.h"

namespace worldline::crdt {

template <class T>
class MvRegister : public Causal<DotFun<T>> {
  using Base = Causal<DotFun<T>>;

 public:
  using Base::Base;

  // Writes `v` as replica `r`; returns the delta.
  MvRegister assign(ReplicaId r, T v) {
    MvRegister delta;
    for (const auto& [d, old] : this->store_.entries)
      delta.ctx_.insert(d);
    const Dot d = this->ctx_.next_dot(r);
    delta.ctx_.insert(d);
    delta.store_.entries.emplace(d, v);
    this->store_.entries.clear();
    this->store_.entries.emplace(d, std::move(v));
    return delta;
  }

  // Clears the register (as OrMap removal does): supersedes every value seen.
  MvRegister reset() {
    MvRegister delta;
    collect_dots(this->store_, &delta.ctx_);
    this->store_.entries.clear();
    return delta;
  }

  // The current values, sorted and unique; more than one means concurrent writes.
  std::vector<T> values() const {
    std::vector<T> out;
    for (const auto& [d, v] : this->store_.entries)
      out.push_back(v);
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }
  bool has_conflict() const { return values().size() > 1; }

  void join(const MvRegister& other) { this->join_parts(other); }
  friend MvRegister join(MvRegister a, const MvRegister& b) {
    a.join(b);
    return a;
  }
  bool operator==(const MvRegister& o) const { return this->parts_equal(o); }
  std::string to_string() const { return "MvRegister" + this->parts_to_string(); }
};

}  // namespace worldline::crdt
