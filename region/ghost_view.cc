// Ghosts: a cell's neighbours' entities within its ghost margin, read from their interest grids.
#include "region/ghost_view.h"

#include <algorithm>
#include <cmath>

namespace worldline::region {

template <typename F>
void Ghosts::for_each(CellId cell, double x, double z, double r, F&& f) const {
  if (!cells_.contains(cell)) return;  // not a leaf
  const Rect& near = partition_.bounds(cell);
  thread_local std::vector<CellId> around;  // handlers ask from every worker
  partition_.ghost_cells(x, z, r, cell, around);
  for (CellId n : around) {
    const Cell* c = cells_.find(n);
    if (!c) continue;
    c->own.for_each_within(x, z, r, [&](crdt::EntityId id, double ex, double ez) {
      if (near.distance(ex, ez) <= margin_) f(id);
    });
  }
}

std::vector<crdt::EntityId> Ghosts::within(CellId cell, double x, double z, double r) const {
  std::vector<crdt::EntityId> out;
  for_each(cell, x, z, r, [&out](crdt::EntityId id) { out.push_back(id); });
  std::sort(out.begin(), out.end());
  return out;
}

std::size_t Ghosts::count(CellId cell) const {
  // Within the margin of its rectangle, so within the margin plus half its diagonal of its
  // centre.
  const Rect& b = partition_.bounds(cell);
  std::size_t n = 0;
  for_each(cell, (b.min_x + b.max_x) / 2, (b.min_z + b.max_z) / 2,
           std::hypot(b.max_x - b.min_x, b.max_z - b.min_z) / 2 + margin_,
           [&n](crdt::EntityId) { ++n; });
  return n;
}

}  // namespace worldline::region
