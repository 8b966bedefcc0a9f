// HandOvers: actors' queue state follows their entity into the cell that owns it now.
#include "region/handover.h"

#include <utility>

namespace worldline::region {

HandOvers::HandOvers(int workers, ActorHomes& homes, CellTable& cells,
                     const PlacementTable& placements)
    : homes_(homes),
      cells_(cells),
      placements_(placements),
      in_flight_(workers),
      noted_by_worker_(static_cast<std::size_t>(workers)) {}

void HandOvers::crossed(int worker, Cell& from, crdt::EntityId entity, CellId to, int to_worker) {
  // homes_ is only read on the workers (no insertion or erasure until the coordinator's turn);
  // the Home of an actor queued in `from` is this worker's to update.
  auto home = homes_.find(entity);
  if (home == homes_.end()) return;    // never acted: no queue state to hand over
  if (home->second.cell != from.id) {  // queued elsewhere: the coordinator sorts it out
    noted_by_worker_[static_cast<std::size_t>(worker)].push_back(entity);
    return;
  }
  // The actor's pending actions leave with it: released here, adopted in phase 4 by the worker
  // owning the cell it moved into.
  home->second.cell = to;
  in_flight_.post(worker, to_worker, HandOver{to, from.queue.release(entity)});
}

void HandOvers::adopt(int worker) {
  in_flight_.drain(worker,
                   [this](HandOver& h) { cells_.at(h.to).queue.adopt(std::move(h.state)); });
}

void HandOvers::gather() {
  for (auto& noted : noted_by_worker_) {
    noted_.insert(noted_.end(), noted.begin(), noted.end());
    noted.clear();
  }
}

std::uint64_t HandOvers::rehome() {
  std::uint64_t moved = 0;
  auto rehome = [&](ActorId actor, ActorHome& home) {
    const CellId target = placements_.owner_cell(actor);
    if (target == home.cell) return;
    cells_[target].queue.adopt(cells_[home.cell].queue.release(actor));
    home.cell = target;
    ++moved;
  };
  if (all_) {
    for (auto& [actor, home] : homes_)
      rehome(actor, home);
  } else {
    for (crdt::EntityId id : noted_) {
      if (auto it = homes_.find(id); it != homes_.end()) rehome(id, it->second);
    }
  }
  noted_.clear();
  all_ = false;
  return moved;
}

}  // namespace worldline::region
