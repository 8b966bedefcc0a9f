// Cell and CellTable: one cell per leaf of the region's partition — its queue, its world view, its
// interest grid and its clock, everything a worker owns outright while it runs the cell — and the
// table of them, where cells are made on first use and dropped once they are no longer leaves.
// RegionPipeline (region/pipeline.h) drives them through a tick.
//
// Thread safety: a Cell is its worker's during a tick's phases (region/pipeline.h says which
// phase touches what); the table itself (cells made, dropped, rules set) changes only on the
// coordinator, between phases.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "crdt/hlc.h"
#include "region/action.h"
#include "region/action_queue.h"
#include "region/cell_world.h"
#include "region/game_rules.h"
#include "region/interest_grid.h"
#include "region/partitioner.h"
#include "replica/replica.h"

namespace worldline::region {

struct Cell {
  Cell(CellId id_, const PriorityRules& rules, const replica::Store& store,
       replica::ReplicaId region, double bucket, int workers, const crdt::HlcClock& region_clock);

  // Moves the arrivals into the queue, as submitted for `for_tick` (the tick they wait for: their
  // waiting, hence aging and the max-wait bound, counts from it). Every arrival is newer than
  // anything its actor sent before (the router checked), so none can be a duplicate.
  void queue_arrivals(std::uint64_t for_tick);
  // Whether `actor`'s state or one of its arrivals is here.
  bool holds(ActorId actor) const;
  std::size_t arrived() const;  // arrivals not yet queued

  CellId id;
  // Stamps the cell's writes (LWW, first-claim), whichever worker runs it: the same stamps
  // whatever the workers and whoever runs which cell. Brought into step with the region's clock
  // and every other cell's at each tick boundary.
  crdt::HlcClock clock;
  // Admitted since the last tick, by the worker that routed them (submit_all(); submit() and
  // everything on the calling thread use [0]), each list in arrival order: the cell's worker
  // queues them when the tick starts. An actor's actions may sit in two lists (submit() after
  // submit_all()): the queue orders them by client_seq, whatever order they are pushed in.
  std::vector<std::vector<Action>> arrivals;
  ActionQueue queue;
  CellWorld world;
  InterestGrid own;  // entities standing here (the neighbours read it for their ghosts)
  // Phase 2: the interactions other cells forwarded here (RegionPipeline::forwards_).
  std::vector<Action> inbox;
  std::vector<Outcome> outcomes, forwarded_outcomes;       // this tick's, by phase
  std::size_t outcomes_at = 0, forwarded_outcomes_at = 0;  // where they go in tick()'s result
  // Phase 3 → coordinator: entities this cell moved that phase 3 could not re-place on its own.
  std::vector<std::pair<crdt::EntityId, crdt::Vec3>> moved;
  std::uint64_t processed = 0;  // this tick, of its own queue
  std::uint64_t resolved = 0;   // this tick, forwarded here by other cells
};

class CellTable {
 public:
  using Map = std::map<CellId, std::unique_ptr<Cell>>;

  // New cells queue by `rules`, read `store` as the region `region`, keep interest grids of
  // `bucket` world units, take arrivals from `workers` workers and stamp after `region_clock`.
  // REQUIRES: store and region_clock outlive the table.
  CellTable(PriorityRules rules, const replica::Store& store, replica::ReplicaId region,
            double bucket, int workers, const crdt::HlcClock& region_clock);

  // The cell of `id`, made (empty) if there is none: like std::map's operator[].
  Cell& operator[](CellId id);
  // REQUIRES: the cell exists (throws std::out_of_range otherwise).
  Cell& at(CellId id) { return *cells_.at(id); }
  const Cell& at(CellId id) const { return *cells_.at(id); }
  Cell* find(CellId id) {
    auto it = cells_.find(id);
    return it == cells_.end() ? nullptr : it->second.get();
  }
  const Cell* find(CellId id) const {
    auto it = cells_.find(id);
    return it == cells_.end() ? nullptr : it->second.get();
  }
  bool contains(CellId id) const { return cells_.count(id) != 0; }
  std::size_t size() const { return cells_.size(); }
  // In ascending id order, as (id, std::unique_ptr<Cell>) pairs.
  Map::iterator begin() { return cells_.begin(); }
  Map::iterator end() { return cells_.end(); }
  Map::const_iterator begin() const { return cells_.begin(); }
  Map::const_iterator end() const { return cells_.end(); }

  double interest_bucket() const { return bucket_; }
  const PriorityRules& rules() const { return rules_; }
  // Every cell, and every cell made later, queues by `rules`. REQUIRES: between ticks.
  void set_rules(PriorityRules rules);

  // Drops the cells that are not in `leaves` (after a rebalance: their actors were handed over,
  // their deltas flushed, their entities re-placed; ids are reused). Their queue counters are
  // kept in queue_stats(), which never goes down.
  void drop_all_but(const std::vector<CellId>& leaves);
  QueueStats queue_stats() const;  // summed over cells, dropped ones included

 private:
  PriorityRules rules_;
  const replica::Store& store_;
  replica::ReplicaId region_;
  double bucket_;
  int workers_;
  const crdt::HlcClock& region_clock_;
  Map cells_;           // one per leaf; stable addresses for the workers
  QueueStats retired_;  // of cells dropped by merges and splits
};

}  // namespace worldline::region
