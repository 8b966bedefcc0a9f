// AwOrSet<T>: add-wins observed-remove set. Each add tags the element with a fresh dot; a remove
// supersedes only the dots it observed, so an add concurrent with a remove survives (add wins).
// Removed dots live on only in the causal context, which compacts to a version vector: there are
// no per-element tombstones growing with removals. Joining a small delta costs O(delta · log n),
// not O(n) (see IndexedDotMap).
#pragma once

#include <vector>

#include "crdt/indexed_dot_map.h"

namespace worldline::crdt {

template <class T>
class AwOrSet : public IndexedDotMap<T, DotSet> {
  using Base = IndexedDotMap<T, DotSet>;

 public:
  using Base::Base;

  // Adds `e` as replica `r`; returns the delta. Re-adding supersedes the element's older dots.
  AwOrSet add(ReplicaId r, const T& e) {
    AwOrSet delta;
    auto& set = this->store_.entries[e];
    this->index_remove(set);
    for (const Dot& old : set.dots)
      delta.ctx_.insert(old);
    const Dot d = this->ctx_.next_dot(r);
    set.dots.assign(1, d);
    this->index_add(e, set);
    delta.ctx_.insert(d);
    delta.store_.entries[e].dots.push_back(d);
    return delta;
  }

  // Removes `e` (the dots observed here); returns the delta. Removing an absent element returns
  // an empty delta.
  AwOrSet remove(const T& e) {
    AwOrSet delta;
    auto it = this->store_.entries.find(e);
    if (it == this->store_.entries.end()) return delta;
    this->index_remove(it->second);
    for (const Dot& d : it->second.dots)
      delta.ctx_.insert(d);
    this->store_.entries.erase(it);
    return delta;
  }

  // Removes every element; returns the delta.
  AwOrSet reset() {
    AwOrSet delta;
    collect_dots(this->store_, &delta.ctx_);
    this->store_.entries.clear();
    this->drop_index();
    return delta;
  }

  bool contains(const T& e) const { return this->store_.entries.count(e) != 0; }
  std::size_t size() const { return this->store_.entries.size(); }
  std::vector<T> elements() const {
    std::vector<T> out;
    out.reserve(size());
    for (const auto& [e, dots] : this->store_.entries)
      out.push_back(e);
    return out;
  }

  void join(const AwOrSet& other) { this->join_indexed(other); }
  friend AwOrSet join(AwOrSet a, const AwOrSet& b) {
    a.join(b);
    return a;
  }

  bool operator==(const AwOrSet& o) const { return this->parts_equal(o); }
  std::string to_string() const { return "AwOrSet" + this->parts_to_string(); }
};

}  // namespace worldline::crdt
