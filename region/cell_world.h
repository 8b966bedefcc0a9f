// CellWorld: the world as the handlers of one cell see it during a tick. Reads return the cell's
// own writes of this tick first, then the shared state as it was when the tick began; writes run
// the mutator on a private copy and keep its delta. At the end of the tick the coordinator flushes
// every cell's deltas into the replica (store, open delta group, journal, gossip).
//
// Why this is safe with worker threads: the shared store is read-only while workers run (remote
// deltas join between ticks, on the same thread that runs the tick), and every key is written by
// one cell per tick — an entity's own components by the cell it stands in, a target's by the
// target's cell (RegionPipeline forwards cross-cell interactions there). So the private copy equals
// the store's value joined with the cell's deltas, and flushing in any cell order gives the same
// state. An entity in another cell reads as it was at the start of the tick: a read-only ghost.
//
// Thread safety: owned by the worker running its cell; flush_into() and write_prepared() of its
// writes() on the coordinator.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>

#include "replica/replica.h"

namespace worldline::region {

class CellWorld {
 public:
  // REQUIRES: `base` outlives this CellWorld and does not change while a tick writes into it.
  CellWorld(const replica::Store& base, replica::ReplicaId region) : base_(base), region_(region) {}

  // The value at `key` as this cell sees it (nullptr: absent, i.e. bottom).
  const replica::ComponentValue* get(const replica::Key& key) const;
  // Runs `mutate(value) -> optional delta` on this cell's copy of the value. Returns whether it
  // produced a delta; fails on an unknown component.
  crdt::Result<bool> write(const replica::Key& key, const replica::Replica::Mutator& mutate);

  // Calls fn(key, value) for every key written since the last flush, with the value as this cell
  // sees it (what the store will hold after flush_into), in first-write order.
  template <typename Fn>
  void for_each_written(Fn&& fn) const {
    for (const Staged& s : staged_)
      fn(s.key, s.value);
  }
  // Joins every delta into `world` (its store and open group), in first-write order, and forgets
  // them. REQUIRES: no worker is writing into this cell.
  void flush_into(replica::Replica& world);
  // The same for many cells at once: hand writes() of each to Replica::write_prepared(), then
  // call forget_writes() (on the cell's worker).
  std::vector<replica::Replica::PreparedWrite>* writes() { return &staged_; }
  void forget_writes() {
    staged_.clear();
    index_.clear();
  }

  replica::ReplicaId region() const { return region_; }

 private:
  // value: the base value ⊔ delta; delta: the join of this tick's deltas on the key.
  using Staged = replica::Replica::PreparedWrite;

  const replica::Store& base_;
  replica::ReplicaId region_;
  boost::unordered_flat_map<replica::Key, std::size_t, replica::KeyHash>
      index_;  // key → staged_ position
  std::vector<Staged> staged_;
};

}  // namespace worldline::region
