// ActionRouter: admitted actions into their actor's cell; the actors' homes.
#include "region/action_router.h"

#include <algorithm>
#include <string>
#include <utility>

namespace worldline::region {

ActorHome& ActionRouter::home(ActorId actor) {
  auto [it, fresh] = homes_.try_emplace(actor);
  if (fresh) it->second.cell = placements_.owner_cell(actor);
  return it->second;
}

std::optional<Reject> ActionRouter::route(Action&& action, std::uint64_t for_tick) {
  ActorHome& home = this->home(action.actor);
  Cell& c = cells_[home.cell];
  if (action.client_seq > home.newest_seq) {  // the common case: newer than all before it
    home.newest_seq = action.client_seq;
    c.arrivals[0].push_back(std::move(action));
    return std::nullopt;
  }
  // A resend, or out of order: only the queue knows, once the cell's arrivals are in it.
  c.queue_arrivals(for_tick);
  const ActorId actor = action.actor;
  const std::uint64_t seq = action.client_seq;
  if (!c.queue.push(std::move(action), for_tick)) {
    ingress_.count(RejectReason::kDuplicate);
    return Reject{RejectReason::kDuplicate, "action " + std::to_string(seq) + " of " +
                                                std::to_string(actor) + " was already received"};
  }
  return std::nullopt;
}

void ActionRouter::mark_processed(ActorId actor, std::uint64_t seq, std::uint64_t for_tick) {
  ActorHome& home = this->home(actor);
  home.newest_seq = std::max(home.newest_seq, seq);
  Cell& c = cells_[home.cell];
  c.queue_arrivals(for_tick);
  c.queue.adopt(ActionQueue::ActorState{actor, seq, {}});
}

std::size_t ActionRouter::drop_pending(ActorId actor, std::uint64_t for_tick) {
  auto home = homes_.find(actor);
  if (home == homes_.end()) return 0;
  Cell& c = cells_[home->second.cell];
  c.queue_arrivals(for_tick);  // its arrivals too
  ActionQueue::ActorState state = c.queue.release(actor);
  const std::size_t dropped = state.pending.size();
  state.pending.clear();
  c.queue.adopt(std::move(state));  // keeps its processed seq
  return dropped;
}

std::uint64_t ActionRouter::processed_seq(ActorId actor) const {
  auto home = homes_.find(actor);
  if (home == homes_.end()) return 0;
  return cells_.at(home->second.cell).queue.processed_seq(actor);
}

std::optional<CellId> ActionRouter::home_of(ActorId actor) const {
  auto it = homes_.find(actor);
  if (it == homes_.end()) return std::nullopt;
  return it->second.cell;
}

}  // namespace worldline::region
