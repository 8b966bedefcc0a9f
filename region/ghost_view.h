// Ghosts: an entity standing within the ghost margin of a cell other than its own is a read-only
// ghost there. Ghosts are not copied: they are read from the neighbours' own interest grids
// (no worker changes a grid during phases 1 and 2, when handlers run), filtered by the margin.
// Ghosts answers for every cell; CellGhosts is one cell's GhostView, handed to its handlers.
//
// Thread safety: reads only; safe on every worker at once while no grid changes.
#pragma once

#include <cstddef>
#include <vector>

#include "crdt/components.h"
#include "region/cell.h"
#include "region/game_rules.h"
#include "region/partitioner.h"
#include "region/placement.h"

namespace worldline::region {

class Ghosts {
 public:
  // `margin`: world units (PipelineOptions::ghost_margin). REQUIRES: cells and partition outlive
  // this.
  Ghosts(const CellTable& cells, const SpatialPartitioner& partition, double margin)
      : cells_(cells), partition_(partition), margin_(margin) {}

  // What a handler in `cell` sees of its neighbours: their entities within r of (x, z) that are
  // ghosts there, sorted by id (empty for a cell that is not a leaf).
  std::vector<crdt::EntityId> within(CellId cell, double x, double z, double r) const;
  // All of `cell`'s ghosts (the stats API's count).
  std::size_t count(CellId cell) const;
  // The cells where the entity placed at `p` is a ghost.
  std::vector<CellId> cells_of(const Placement& p) const {
    return partition_.ghost_cells(p.pos.x, p.pos.z, margin_, p.home);
  }

 private:
  // Calls f(id) for each entity standing in another cell within the margin of `cell` and within
  // r of (x, z).
  template <typename F>
  void for_each(CellId cell, double x, double z, double r, F&& f) const;

  const CellTable& cells_;
  const SpatialPartitioner& partition_;
  double margin_;
};

// One cell's ghosts, as its handlers see them (HandlerContext::ghosts).
class CellGhosts final : public GhostView {
 public:
  CellGhosts(const Ghosts& ghosts, CellId cell) : ghosts_(ghosts), cell_(cell) {}
  std::vector<crdt::EntityId> within(double x, double z, double r) const override {
    return ghosts_.within(cell_, x, z, r);
  }

 private:
  const Ghosts& ghosts_;
  CellId cell_;
};

}  // namespace worldline::region
