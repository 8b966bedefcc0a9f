// Placement: where entities stand. Every entity with a position — local or written by another
// region — stands in exactly one cell, the leaf containing its position, and in that cell's
// interest grid. PlacementTable keeps, per entity, its position, that cell and its slot in the
// grid, and is the only code that changes the cells' grids. RegionPipeline calls it in phase 3
// (entities its handlers moved), phase 4 (insertions phase 3 requested), between ticks (entities
// moved by other regions) and after a split or merge (regrid).
//
// Thread safety: entities are added to and removed from the table only on the coordinator. On
// the workers (phase 3, and regrid's first step) each worker updates the Placements of distinct
// entities in place and changes only the grids of the cells it owns; an insertion into another
// worker's cell is requested of that worker, who makes it in the next phase. No worker changes a
// grid during phases 1 and 2, so the handlers may read every grid then.
#pragma once

#include <cstddef>
#include <map>

#include <boost/unordered/unordered_flat_map.hpp>

#include "crdt/components.h"
#include "region/cell.h"
#include "region/interest_grid.h"
#include "region/pairwise_mailbox.h"
#include "region/partitioner.h"
#include "region/tick_workers.h"
#include "replica/replica.h"

namespace worldline::region {

struct Placement {
  crdt::Vec3 pos;
  CellId home = 0;
  InterestGrid::Slot slot = 0;  // in home's `own` grid
};

class PlacementTable {
 public:
  // place_entity()'s `worker` on the coordinator's thread, between phases: it owns every cell.
  static constexpr int kCoordinator = -1;

  // REQUIRES: partition, cells and workers outlive the table.
  PlacementTable(const SpatialPartitioner& partition, CellTable& cells, TickWorkers& workers);

  // nullptr: the entity has no position (or was never seen).
  Placement* find(crdt::EntityId id) {
    auto it = placed_.find(id);
    return it == placed_.end() ? nullptr : &it->second;
  }
  const Placement* find(crdt::EntityId id) const {
    auto it = placed_.find(id);
    return it == placed_.end() ? nullptr : &it->second;
  }
  // The cell that resolves writes to `entity`: where it stands, else the cell of the origin.
  CellId owner_cell(crdt::EntityId entity) const {
    auto it = placed_.find(entity);
    if (it != placed_.end()) return it->second.home;
    return partition_.cell_of(0, 0);  // no position (an item on no map, an unknown actor)
  }

  // The one placement rule: the entity of `p` stands at `pos`, in the leaf containing it, and in
  // that leaf's interest grid; `fresh`: it is in no grid yet. Updates `p`, and returns whether
  // its home changed (a hand-over to look at). Its old home's grid is changed at once —
  // REQUIRES: the caller owns that cell (its worker, or the coordinator) — and so is its new
  // home's if `worker` owns that cell or is kCoordinator; otherwise the insertion is requested of
  // the owning worker (made by make_requested_inserts(), in phase 4). `home`: the cell it stands
  // in, if the caller has it at hand (else looked up). Reads only the partition and the cell
  // table: safe on the workers for distinct entities.
  bool place_entity(crdt::EntityId id, Placement& p, const crdt::Vec3& pos, bool fresh, int worker,
                    Cell* home = nullptr);
  // Phase 4 (and regrid's second step), on `worker`: makes the grid insertions requested of it.
  void make_requested_inserts(int worker);
  std::size_t requested_inserts() const { return inserts_.size(); }

  // On the coordinator. Each returns whether the cell owning the entity changed (it is new, moved
  // across a boundary, or gone): its actor's queue state may have to follow (region/handover.h).
  // Places `id` at `pos`, a new entity too.
  bool place_at(crdt::EntityId id, const crdt::Vec3& pos);
  // Places `id` where `world` says it stands, or removes it if it has no position there.
  bool place(crdt::EntityId id, const replica::Replica& world);

  // After splits and merges, on the coordinator with the workers: re-places the entities of the
  // cells that changed (`before`: the leaves and their rectangles before the rebalance), and
  // makes a cell for every new leaf. Every actor's cell is to be looked at after it.
  void regrid(const std::map<CellId, Rect>& before);

 private:
  // An insertion into a cell's interest grid requested of the worker owning the cell; it writes
  // the slot it got into the entity's Placement through `slot_out` (placed_ is not resized while
  // insertions are pending, so the pointer holds).
  struct GridInsert {
    CellId cell;
    crdt::EntityId entity;
    double x, z;
    InterestGrid::Slot* slot_out;
  };

  const SpatialPartitioner& partition_;
  CellTable& cells_;
  TickWorkers& workers_;
  // Values move when it grows: nothing holds a Placement across an insertion (phases 3 and 4,
  // which point into them, run while nothing is inserted).
  boost::unordered_flat_map<crdt::EntityId, Placement> placed_;
  PairwiseMailbox<GridInsert> inserts_;  // [requesting worker][owning worker]
};

}  // namespace worldline::region
