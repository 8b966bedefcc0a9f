// PlacementTable: where entities stand — the placement rule, the grid insertions it requests of
// other workers, and the re-placement of whole cells after the partition's tree changed.
#include "region/placement.h"

#include <set>
#include <utility>
#include <vector>

#include "region/game_rules.h"

namespace worldline::region {

PlacementTable::PlacementTable(const SpatialPartitioner& partition, CellTable& cells,
                               TickWorkers& workers)
    : partition_(partition), cells_(cells), workers_(workers), inserts_(workers.size()) {}

bool PlacementTable::place_entity(crdt::EntityId id, Placement& p, const crdt::Vec3& pos,
                                  bool fresh, int worker, Cell* home) {
  p.pos = pos;
  if (!fresh) {
    InterestGrid& grid = (home ? *home : cells_.at(p.home)).own;
    if (partition_.bounds(p.home).contains(pos.x, pos.z)) {  // the common case: a step inside
      grid.move(p.slot, id, pos.x, pos.z);
      return false;
    }
    grid.erase(p.slot, id);
  }
  p.home = partition_.cell_of(pos.x, pos.z);
  const int owner = partition_.worker_of(p.home);
  if (worker == kCoordinator || worker == owner) {
    p.slot = cells_.at(p.home).own.insert(id, pos.x, pos.z);
  } else {
    inserts_.post(worker, owner, GridInsert{p.home, id, pos.x, pos.z, &p.slot});
  }
  return true;
}

void PlacementTable::make_requested_inserts(int worker) {
  inserts_.drain(worker, [this](const GridInsert& i) {
    *i.slot_out = cells_.at(i.cell).own.insert(i.entity, i.x, i.z);
  });
}

bool PlacementTable::place_at(crdt::EntityId id, const crdt::Vec3& pos) {
  auto [it, fresh] = placed_.try_emplace(id);
  return place_entity(id, it->second, pos, fresh, kCoordinator);
}

bool PlacementTable::place(crdt::EntityId id, const replica::Replica& world) {
  if (const auto pos = GameRules::position(world, id)) return place_at(id, *pos);
  auto it = placed_.find(id);
  if (it == placed_.end()) return false;
  cells_[it->second.home].own.erase(it->second.slot, id);
  placed_.erase(it);
  return true;
}

void PlacementTable::regrid(const std::map<CellId, Rect>& before) {
  // The cells that changed: leaves that are gone or (ids are reused) cover another rectangle now,
  // and the new leaves. Only entities standing in one of them move.
  std::set<CellId> changed;
  const auto leaves = partition_.leaves();
  const std::set<CellId> live(leaves.begin(), leaves.end());
  for (const auto& [id, rect] : before) {
    if (!live.count(id) || rect != partition_.bounds(id)) changed.insert(id);
  }
  for (CellId leaf : leaves) {
    auto it = before.find(leaf);
    if (it == before.end() || it->second != partition_.bounds(leaf)) changed.insert(leaf);
    (void)cells_[leaf];  // made, if it is new
  }
  std::vector<std::pair<crdt::EntityId, crdt::Vec3>> moving;
  for (const auto& [id, p] : placed_) {
    if (changed.count(p.home)) moving.emplace_back(id, p.pos);
  }
  for (CellId id : changed) {  // their grids are rebuilt
    if (Cell* c = cells_.find(id)) c->own = InterestGrid(cells_.interest_bucket());
  }
  // Placed afresh in two parallel steps, like phases 3 and 4: each worker works out where its
  // share of the entities stand, and inserts those standing in its own cells; the owners of the
  // other cells insert the rest. Their placements are made here first, so no insertion into
  // placed_ moves them meanwhile.
  for (const auto& [id, pos] : moving)
    placed_[id] = Placement{pos, 0, 0};
  const auto k = static_cast<std::size_t>(workers_.size());
  workers_.run([&](int w) {
    const auto i = static_cast<std::size_t>(w);
    for (std::size_t m = moving.size() * i / k; m < moving.size() * (i + 1) / k; ++m) {
      const auto& [id, pos] = moving[m];
      (void)place_entity(id, placed_.find(id)->second, pos, /*fresh=*/true, w);
    }
  });
  workers_.run([&](int w) { make_requested_inserts(w); });
}

}  // namespace worldline::region
