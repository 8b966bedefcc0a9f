// AwOrSet<T>: add-wins observed-remove set. Each add tags the element with a fresh dot; a remove
// supersedes only the dots it observed, so an add concurrent with a remove survives (add wins).
// Removed dots live on only in the causal context, which compacts to a version vector: there are
// no per-element tombstones growing with removals.
//
// Joining a small delta into a large set costs O(delta · log n), not O(n): the set keeps an index
// from each live dot to its element, built on first use, so the dots a delta's context covers can
// be found without scanning every element.
#pragma once

#include <unordered_map>
#include <vector>

#include "crdt/causal.h"

namespace worldline::crdt {

struct DotHash {
  std::size_t operator()(const Dot& d) const noexcept {
    return std::hash<std::uint64_t>{}(d.counter * 0x9E3779B97F4A7C15ull ^ d.replica);
  }
};

template <class T>
class AwOrSet : public Causal<DotMap<T, DotSet>> {
  using Base = Causal<DotMap<T, DotSet>>;

 public:
  AwOrSet() = default;
  AwOrSet(DotMap<T, DotSet> store, CausalContext context)
      : Base(std::move(store), std::move(context)) {}

  // Adds `e` as replica `r`; returns the delta. Re-adding supersedes the element's older dots.
  AwOrSet add(ReplicaId r, const T& e) {
    AwOrSet delta;
    auto& dots = this->store_.entries[e].dots;
    for (const Dot& old : dots) {
      delta.ctx_.insert(old);
      if (index_valid_) index_.erase(old);
    }
    const Dot d = this->ctx_.next_dot(r);
    dots.assign(1, d);
    if (index_valid_) index_.emplace(d, e);
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
    for (const Dot& d : it->second.dots) {
      delta.ctx_.insert(d);
      if (index_valid_) index_.erase(d);
    }
    this->store_.entries.erase(it);
    return delta;
  }

  // Removes every element; returns the delta.
  AwOrSet reset() {
    AwOrSet delta;
    collect_dots(this->store_, &delta.ctx_);
    this->store_.entries.clear();
    index_.clear();
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

  void join(const AwOrSet& other) {
    // A delta whose context is small next to the set takes the indexed path.
    if (other.ctx_.dot_count() + other.store_.entries.size() < this->store_.entries.size()) {
      join_small(other);
    } else {
      this->join_parts(other);
      index_valid_ = false;
      index_.clear();
    }
  }
  friend AwOrSet join(AwOrSet a, const AwOrSet& b) {
    a.join(b);
    return a;
  }

  bool operator==(const AwOrSet& o) const { return this->parts_equal(o); }
  std::string to_string() const { return "AwOrSet" + this->parts_to_string(); }

 private:
  void build_index() {
    index_.clear();
    for (const auto& [e, set] : this->store_.entries) {
      for (const Dot& d : set.dots)
        index_.emplace(d, e);
    }
    index_valid_ = true;
  }

  // Same result as join_parts(other), touching only the elements `other` mentions.
  void join_small(const AwOrSet& other) {
    if (!index_valid_) build_index();
    auto& mine = this->store_.entries;
    // 1. Dots `other` has seen but no longer holds are removed here.
    other.ctx_.for_each_dot([&](const Dot& d) {
      auto it = index_.find(d);
      if (it == index_.end()) return;
      auto oit = other.store_.entries.find(it->second);
      if (oit != other.store_.entries.end() &&
          std::binary_search(oit->second.dots.begin(), oit->second.dots.end(), d)) {
        return;
      }
      auto eit = mine.find(it->second);
      auto& dots = eit->second.dots;
      dots.erase(std::lower_bound(dots.begin(), dots.end(), d));
      if (dots.empty()) mine.erase(eit);
      index_.erase(it);
    });
    // 2. Dots `other` holds that this replica has never seen are added.
    for (const auto& [e, set] : other.store_.entries) {
      for (const Dot& d : set.dots) {
        if (this->ctx_.contains(d)) continue;
        auto& dots = mine[e].dots;
        dots.insert(std::lower_bound(dots.begin(), dots.end(), d), d);
        index_.emplace(d, e);
      }
    }
    this->ctx_.join(other.ctx_);
  }

  std::unordered_map<Dot, T, DotHash> index_;
  bool index_valid_ = false;
};

}  // namespace worldline::crdt
