// Store: the replica's state — one typed CRDT per (entity, component) key. Local writes mutate a
// value in place and yield its delta; remote values arrive as bytes and are decoded, validated
// against the component's configured kind and joined, or refused and counted.
//
// The state is a hash map with open addressing (values inline, one probe per lookup): the tick
// reads and writes it per key many thousand times, and nothing on that path needs an order. What
// does (the digest, snapshots, `inspect`) walks sorted_keys().
//
// Thread safety: owned by the replica's thread.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>

#include "replica/component.h"

namespace worldline::replica {

struct Key {
  EntityId entity = 0;
  ComponentId component = 0;
  auto operator<=>(const Key&) const = default;
  bool operator==(const Key&) const = default;
  std::string to_string() const;
};

struct KeyHash {
  std::size_t operator()(const Key& k) const {
    return std::hash<std::uint64_t>{}(k.entity * 0x9E3779B97F4A7C15ull ^ k.component);
  }
};

// The join of one or more deltas, one value per key (in no particular order: joins commute).
using DeltaGroup = std::unordered_map<Key, ComponentValue, KeyHash>;
void merge_into(DeltaGroup& group, const Key& key, const ComponentValue& delta);
void merge_into(DeltaGroup& group, const Key& key, ComponentValue&& delta);  // moves a new key
// Deltas as a list: what a region tick hands over (one list per cell, built on its worker) and
// what a committed group is kept as. A key may appear more than once — in two lists, or twice in
// one — and its deltas then join: joins commute and are idempotent, so the state they give is the
// same in any order.
using DeltaList = std::vector<std::pair<Key, ComponentValue>>;

// FNV-1a of a value's encoding: the per-key hash of digests.
std::uint64_t value_digest(const ComponentValue& v);
// The same, from the encoding already at hand.
std::uint64_t bytes_digest(std::string_view encoded);

class Store {
 public:
  // REQUIRES: `registry` outlives the store.
  explicit Store(const ComponentRegistry& registry);

  // Runs `mutate(value) -> optional delta` on the value at `key` (bottom if absent). Returns the
  // delta, or nullopt if the mutator refused (and changed nothing). Fails on an unknown component.
  crdt::Result<std::optional<ComponentValue>> mutate(
      const Key& key, const std::function<std::optional<ComponentValue>(ComponentValue&)>& fn);

  // Decodes, validates and joins one remote entry. Returns whether the state changed; an error
  // (counted by reason) leaves the state unchanged.
  crdt::Result<bool> join_remote(const Key& key, std::string_view bytes,
                                 ComponentValue* joined = nullptr);
  // join_remote in two steps, for entries judged together (the parts of one transmission): decode
  // one entry as its component's kind; then join a decoded value unless the result would break
  // the kind's invariant (a bounded counter's rights below zero). Both count what they refuse.
  crdt::Result<ComponentValue> decode_remote(const Key& key, std::string_view bytes);
  crdt::Result<bool> join_checked(const Key& key, const ComponentValue& value);
  // Counts an entry refused by the caller for a reason of its own (a clock too far ahead).
  void count_refused(const crdt::Error& e) { (void)reject(e); }
  // Joins an already validated value (from the journal or a local group).
  void join_local(const Key& key, const ComponentValue& value);

  const ComponentValue* get(const Key& key) const;
  // The stored value at `key` for the caller to replace (nullptr: absent). REQUIRES: the new value
  // is the old one joined with something (states only grow), and the caller is the replica, which
  // accounts for the change. Different keys may be replaced from different threads at once while
  // nothing inserts or erases.
  ComponentValue* value_for_update(const Key& key) {
    auto it = state_.find(key);
    return it == state_.end() ? nullptr : &it->second;
  }
  // Open addressing, values inline: a lookup is one probe into one array. Inserting may move
  // every value, so a pointer from get() is good only until the next write.
  using Entries = boost::unordered_flat_map<Key, ComponentValue, KeyHash>;
  const Entries& entries() const { return state_; }  // in no particular order
  std::vector<Key> sorted_keys() const;
  // The entities holding a value of `component`, ascending, for a component the registry marks
  // `indexed`; nullptr for any other (walk entries() instead).
  const std::set<EntityId>* entities_with(ComponentId component) const;
  const ComponentRegistry& registry() const { return registry_; }

  // A hash of the whole state (FNV-1a over keys and encodings): equal states, equal digests.
  std::uint64_t digest() const;
  // Per key: FNV-1a of the value's encoding (the digest a recovering peer sends).
  std::vector<std::pair<Key, std::uint64_t>> key_digests() const;

  std::uint64_t rejected() const { return rejected_; }
  const std::map<std::string, std::uint64_t>& rejected_by_reason() const { return rejections_; }

 private:
  crdt::Result<bool> reject(crdt::Error e);

  // A key was stored that was absent: adds its entity to its component's index, if it has one.
  void note_created(const Key& key);

  const ComponentRegistry& registry_;
  Entries state_;
  // Per indexed component (ComponentSpec::indexed): the entities that hold it. Keys are never
  // erased once stored (states only grow), so the sets only grow.
  std::map<ComponentId, std::set<EntityId>> index_;
  std::uint64_t rejected_ = 0;
  std::map<std::string, std::uint64_t> rejections_;  // by ErrorCode name
};

}  // namespace worldline::replica
