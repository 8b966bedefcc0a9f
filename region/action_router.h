// ActionRouter: where an admitted action goes. Each actor has a Home, the cell whose queue holds
// its state (its pending actions, the seq it processed); an action newer than everything its
// actor sent goes to that cell's arrivals, which the cell's worker queues when the next tick
// starts, and anything else (a resend, an action out of order) to the queue itself, which knows
// what it holds and refuses duplicates. Admission proper — checks, HLC stamp — is Ingress's
// (region/ingress.h), before this. The homes move when actors are handed over between cells
// (region/handover.h).
//
// Thread safety: on the coordinator, except route_on_worker() (see there).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>

#include <boost/unordered/unordered_flat_map.hpp>

#include "region/action.h"
#include "region/cell.h"
#include "region/ingress.h"
#include "region/placement.h"

namespace worldline::region {

struct ActorHome {
  CellId cell = 0;               // whose queue holds the actor (or will, for its arrivals)
  std::uint64_t newest_seq = 0;  // the highest client_seq submitted or marked processed
};
using ActorHomes = boost::unordered_flat_map<ActorId, ActorHome>;

class ActionRouter {
 public:
  // `ingress` counts the duplicates route() refuses. REQUIRES: all three outlive the router.
  ActionRouter(CellTable& cells, const PlacementTable& placements, Ingress& ingress)
      : cells_(cells), placements_(placements), ingress_(ingress) {}

  // Puts an admitted, stamped action into its actor's cell (a new actor's: the cell it stands
  // in), or, for a resend or an action out of order, through the queue that knows what it holds,
  // as waiting for `for_tick` (the next tick). A duplicate is refused as kDuplicate.
  std::optional<Reject> route(Action&& action, std::uint64_t for_tick);
  // route()'s common case, on `worker` while the workers run (submit_all()): an action newer than
  // everything its actor sent goes to its cell's arrivals[worker]. Returns false, leaving the
  // action as it is, when route() must take it on the coordinator: the actor has no Home yet, or
  // the action is a resend or out of order. REQUIRES: each actor is routed by one worker only,
  // and nothing is inserted into the homes meanwhile (they are only read, and each actor's Home
  // written by the one worker routing it).
  bool route_on_worker(Action& action, int worker) {
    auto home = homes_.find(action.actor);
    if (home == homes_.end() || action.client_seq <= home->second.newest_seq) return false;
    home->second.newest_seq = action.client_seq;
    cells_.at(home->second.cell)
        .arrivals[static_cast<std::size_t>(worker)]
        .push_back(std::move(action));
    return true;
  }

  // Actions of `actor` up to `seq` were processed elsewhere: refused from now on as duplicates.
  void mark_processed(ActorId actor, std::uint64_t seq, std::uint64_t for_tick);
  // Forgets the actions of `actor` admitted but not yet processed; returns how many.
  std::size_t drop_pending(ActorId actor, std::uint64_t for_tick);
  std::uint64_t processed_seq(ActorId actor) const;  // 0 if none
  std::optional<CellId> home_of(ActorId actor) const;

  // The hand-over moves actors' homes along with their queue state.
  ActorHomes& homes() { return homes_; }

 private:
  // The Home of `actor`, made in the cell that owns it if it has none.
  ActorHome& home(ActorId actor);

  CellTable& cells_;
  const PlacementTable& placements_;
  Ingress& ingress_;
  ActorHomes homes_;
};

}  // namespace worldline::region
