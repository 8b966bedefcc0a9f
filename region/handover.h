// HandOvers: moving actors between cells at the end of a tick. An actor's state — its pending
// actions and the seq it processed (ActionQueue::ActorState) — lives in the queue of the cell that
// owns its entity; when the entity's owning cell changes, the state leaves the old cell's queue
// and joins the new one's, and the actor's Home (region/action_router.h) follows.
//
// Two ways there: in phase 3, the worker that re-placed an actor's entity across a boundary
// releases it from its cell's queue and hands it to the worker owning the new cell, who adopts it
// in phase 4 (crossed(), adopt()); every other change — an entity re-placed by the coordinator or
// removed, a regrid, an actor queued in another cell than the one it stood in — is noted, and
// rehome() settles them on the coordinator once the partition has rebalanced.
//
// Thread safety: crossed() on the workers in phase 3 (each for actors queued in its own cells),
// adopt() on the workers in phase 4 (each for its own cells); the rest on the coordinator.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "crdt/components.h"
#include "region/action_queue.h"
#include "region/action_router.h"
#include "region/cell.h"
#include "region/pairwise_mailbox.h"
#include "region/placement.h"

namespace worldline::region {

class HandOvers {
 public:
  // REQUIRES: homes, cells and placements outlive this.
  HandOvers(int workers, ActorHomes& homes, CellTable& cells, const PlacementTable& placements);

  // Phase 3, on `worker`: `entity`, standing in `from` until now, moved into `to` (owned by
  // `to_worker`). If it is an actor queued in `from`, its state is released from that queue and
  // its Home moved to `to` at once; `to_worker` adopts the state in phase 4. If it is queued
  // elsewhere, rehome() sorts it out. REQUIRES: `worker` owns `from`.
  void crossed(int worker, Cell& from, crdt::EntityId entity, CellId to, int to_worker);
  std::size_t in_flight() const { return in_flight_.size(); }  // crossed() and not adopted
  // Phase 4, on `worker`: the actors handed over to its cells join their queues.
  void adopt(int worker);
  // After phase 4, on the coordinator: takes in what phase 3 left to rehome().
  void gather();

  // On the coordinator: the cell owning `entity` changed (it moved across a boundary, or is
  // gone): its actor, if it is one, may have to move.
  void note(crdt::EntityId entity) { noted_.push_back(entity); }
  // After a regrid: every actor may have to move.
  void note_all() { all_ = true; }
  // Moves every noted actor's state to the queue of the cell owning its entity now (where it
  // stands, else the cell of the origin) and forgets the notes. Returns how many actors moved.
  std::uint64_t rehome();

 private:
  struct HandOver {
    CellId to;
    ActionQueue::ActorState state;
  };

  ActorHomes& homes_;
  CellTable& cells_;
  const PlacementTable& placements_;
  // [from worker][to worker]: actors that moved to another cell in phase 3 with their queue state.
  PairwiseMailbox<HandOver> in_flight_;
  // Per worker: the actors phase 3 moved to another cell whose queue state it could not hand over
  // itself, taken into noted_ by gather().
  std::vector<std::vector<crdt::EntityId>> noted_by_worker_;
  // Entities whose owning cell changed since the last rehome(), or all of them after a regrid
  // (all_): the only actors rehome() has to look at.
  std::vector<crdt::EntityId> noted_;
  bool all_ = false;
};

}  // namespace worldline::region
