// IndexedDotMap<K, S>: the base of AwOrSet and OrMap — a causal CRDT whose store is a DotMap —
// with a join whose cost follows the size of what is joined, not of the state joined into.
//
// The general dot-store join visits every key. For the common case of a small delta (one add, one
// removal) joined into a large state, join() instead finds the keys the delta can affect — the
// keys it holds, plus the keys owning a live dot that the delta's context covers — through an index
// from each live dot to its key, and joins only those. The result is identical to the general
// join (a property test checks it); the index is built on first use and kept up to date by the
// mutators of the derived types through index_remove / index_add.
#pragma once

#include <algorithm>
#include <unordered_map>
#include <vector>

#include "crdt/causal.h"

namespace worldline::crdt {

struct DotHash {
  std::size_t operator()(const Dot& d) const noexcept {
    return std::hash<std::uint64_t>{}(d.counter * 0x9E3779B97F4A7C15ull ^ d.replica);
  }
};

template <class K, class S>
class IndexedDotMap : public Causal<DotMap<K, S>> {
  using Base = Causal<DotMap<K, S>>;

 public:
  using Base::Base;

 protected:
  void join_indexed(const IndexedDotMap& other) {
    if (other.ctx_.dot_count() + other.store_.entries.size() < this->store_.entries.size()) {
      join_small(other);
    } else {
      this->join_parts(other);
      drop_index();
    }
  }

  // Mutators call these around every change of a key's nested store.
  void index_remove(const S& s) {
    if (index_valid_) visit_dots(s, [&](const Dot& d) { index_.erase(d); });
  }
  void index_add(const K& key, const S& s) {
    if (index_valid_) visit_dots(s, [&](const Dot& d) { index_.emplace(d, key); });
  }
  void drop_index() {
    index_.clear();
    index_valid_ = false;
  }

 private:
  void build_index() {
    index_.clear();
    index_valid_ = true;
    for (const auto& [k, s] : this->store_.entries)
      index_add(k, s);
  }

  void join_small(const IndexedDotMap& other) {
    if (!index_valid_) build_index();
    std::vector<K> affected;
    for (const auto& [k, s] : other.store_.entries)
      affected.push_back(k);
    other.ctx_.for_each_dot([&](const Dot& d) {
      if (auto it = index_.find(d); it != index_.end()) affected.push_back(it->second);
    });
    std::sort(affected.begin(), affected.end());
    affected.erase(std::unique(affected.begin(), affected.end()), affected.end());

    static const S kBottom{};
    auto& mine = this->store_.entries;
    for (const K& k : affected) {
      auto it = mine.find(k);
      S current = it == mine.end() ? S{} : std::move(it->second);
      index_remove(current);
      auto ot = other.store_.entries.find(k);
      join_store(current, this->ctx_, ot == other.store_.entries.end() ? kBottom : ot->second,
                 other.ctx_);
      if (is_bottom(current)) {
        if (it != mine.end()) mine.erase(it);
        continue;
      }
      index_add(k, current);
      if (it != mine.end()) {
        it->second = std::move(current);
      } else {
        mine.emplace(k, std::move(current));
      }
    }
    this->ctx_.join(other.ctx_);
  }

  std::unordered_map<Dot, K, DotHash> index_;
  bool index_valid_ = false;
};

}  // namespace worldline::crdt
