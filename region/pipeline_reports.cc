// RegionPipeline's reports between ticks: where entities and actors are, what the cells hold and
// carry (the stats API, the director's load samples, the gateway's interest queries and tests).
// The tick itself is in region/pipeline.cc.
#include <algorithm>

#include "region/pipeline.h"

namespace worldline::region {

std::uint64_t RegionPipeline::processed_seq(ActorId actor) const {
  return router_.processed_seq(actor);
}

std::vector<crdt::EntityId> RegionPipeline::within(double x, double z, double r) const {
  std::vector<crdt::EntityId> out;
  for (const auto& [id, c] : cells_) {
    if (partition_.bounds(id).distance(x, z) > r) continue;
    auto found = c->own.within(x, z, r);
    out.insert(out.end(), found.begin(), found.end());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<CellId> RegionPipeline::cell_of_entity(crdt::EntityId id) const {
  const Placement* p = placements_.find(id);
  if (!p) return std::nullopt;
  return p->home;
}

std::vector<CellId> RegionPipeline::ghost_cells_of(crdt::EntityId id) const {
  const Placement* p = placements_.find(id);
  if (!p) return {};
  return ghosts_.cells_of(*p);
}

std::vector<crdt::EntityId> RegionPipeline::ghosts_within(CellId cell, double x, double z,
                                                          double r) const {
  return ghosts_.within(cell, x, z, r);
}

std::optional<CellId> RegionPipeline::home_of(ActorId actor) const {
  return router_.home_of(actor);
}

bool RegionPipeline::queue_holds(CellId cell, ActorId actor) const {
  const Cell* c = cells_.find(cell);
  return c && c->holds(actor);
}

std::vector<CellReport> RegionPipeline::cells() const {
  std::vector<CellReport> out;
  for (const auto& [id, c] : cells_) {
    out.push_back(CellReport{id, partition_.worker_of(id), c->queue.size() + c->arrived(),
                             c->own.size(), ghosts_.count(id), c->processed});
  }
  return out;
}

void RegionPipeline::cell_loads(std::vector<CellLoad>& out) const {
  out.clear();
  for (const auto& [id, c] : cells_)
    out.push_back(CellLoad{id, c->own.size(), c->processed});
}

QueueStats RegionPipeline::queue_stats() const {
  return cells_.queue_stats();
}

}  // namespace worldline::region
