// OrMap<K, V>: observed-remove map whose values are causal CRDTs (AwOrSet, MvRegister,
// CausalCounter or another OrMap) sharing the map's one causal context. Updating a key runs a
// mutator of the nested value and returns a map delta holding just that key's delta. Removing a
// key resets its nested value: the dots observed are superseded, while an update concurrent with
// the removal survives (so a concurrently added item is not lost). Joining a small delta touches
// only the keys it can affect (see IndexedDotMap).
#pragma once

#include <optional>
#include <utility>
#include <vector>

#include "crdt/indexed_dot_map.h"

namespace worldline::crdt {

template <class K, class V>
class OrMap : public IndexedDotMap<K, typename V::Store> {
  using Base = IndexedDotMap<K, typename V::Store>;
  using NestedStore = typename V::Store;

 public:
  using Base::Base;

  // Runs `mutate(V& nested) -> V delta` on the value at `key` (bottom if absent), with the
  // map's shared context lent to it. Returns the map delta.
  template <class Mutator>
  OrMap update(const K& key, Mutator&& mutate) {
    auto it = this->store_.entries.find(key);
    NestedStore current = it == this->store_.entries.end() ? NestedStore{} : std::move(it->second);
    this->index_remove(current);
    V nested(std::move(current), std::move(this->ctx_));
    V nested_delta = mutate(nested);
    this->ctx_ = nested.take_context();
    NestedStore updated = nested.take_store();
    this->index_add(key, updated);
    if (is_bottom(updated)) {
      if (it != this->store_.entries.end()) this->store_.entries.erase(it);
    } else if (it != this->store_.entries.end()) {
      it->second = std::move(updated);
    } else {
      this->store_.entries.emplace(key, std::move(updated));
    }
    OrMap delta;
    delta.ctx_ = nested_delta.take_context();
    NestedStore ds = nested_delta.take_store();
    if (!is_bottom(ds)) delta.store_.entries.emplace(key, std::move(ds));
    return delta;
  }

  // Removes `key`, resetting its nested value; returns the delta.
  OrMap remove(const K& key) {
    OrMap delta;
    auto it = this->store_.entries.find(key);
    if (it == this->store_.entries.end()) return delta;
    collect_dots(it->second, &delta.ctx_);
    this->index_remove(it->second);
    this->store_.entries.erase(it);
    return delta;
  }

  bool contains(const K& key) const { return this->store_.entries.count(key) != 0; }
  std::size_t size() const { return this->store_.entries.size(); }
  std::vector<K> keys() const {
    std::vector<K> out;
    for (const auto& [k, s] : this->store_.entries)
      out.push_back(k);
    return out;
  }
  // A copy of the nested value at `key` (with a copy of the shared context), for reading.
  std::optional<V> get(const K& key) const {
    auto it = this->store_.entries.find(key);
    if (it == this->store_.entries.end()) return std::nullopt;
    return V(it->second, this->ctx_);
  }

  void join(const OrMap& other) { this->join_indexed(other); }
  friend OrMap join(OrMap a, const OrMap& b) {
    a.join(b);
    return a;
  }
  bool operator==(const OrMap& o) const { return this->parts_equal(o); }
  std::string to_string() const { return "OrMap" + this->parts_to_string(); }
};

}  // namespace worldline::crdt
