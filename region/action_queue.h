// ActionQueue: the actions waiting in one cell, and the order a tick processes them in.
//
// Order within a tick:
//  1. causality — an actor's actions in client_seq order, and an action with `after` only once
//     that actor's action has been processed (this tick or before);
//  2. priority — by class rank (physics, combat, movement, interaction, social by default), raised
//     by aging: effective rank = rank − ticks waited × aging_per_tick; ties by HLC stamp.
// Each class has a budget per tick. An action over budget is deferred to the next tick — counted,
// never dropped — and blocks its actor's later actions (causality). An action that has waited
// its class's max_wait_ticks is processed whatever the budget ("forced"), together with its
// actor's actions queued ahead of it, and without the dependency it waits on if that has not come:
// so no action waits longer than its class's bound. That is the anti-starvation guarantee the
// tests check under sustained floods of every class.
//
// Thread safety: owned by the worker that owns the cell.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>

#include "region/action.h"
#include "region/rules.h"

namespace worldline::region {

struct QueueStats {
  std::vector<std::uint64_t> depth_by_class;  // queued now
  std::vector<std::uint64_t> processed_by_class;
  std::vector<std::uint64_t> deferred_by_class;  // action-ticks spent waiting past a tick
  std::vector<std::uint64_t> forced_by_class;    // processed over budget at their max wait
  std::vector<std::uint64_t> wait_ticks;         // histogram: [n] = actions that waited n ticks
  std::uint64_t duplicates = 0;                  // (actor, seq) seen before: refused
};

class ActionQueue {
 public:
  static constexpr std::size_t kWaitHistogramSize = 64;  // the last bucket collects the rest

  explicit ActionQueue(PriorityRules rules);

  // Swaps the rules. REQUIRES: between ticks.
  void set_rules(PriorityRules rules);
  const PriorityRules& rules() const { return rules_; }

  // Queues an action for `tick` or later. Returns false (and counts it) if this actor's action
  // with that client_seq was already queued or processed: a resent action is never applied twice.
  bool push(Action action, std::uint64_t tick);

  // Removes and returns this tick's actions in processing order.
  std::vector<Action> take(std::uint64_t tick);

  // Hand-over of an actor between cells at a tick boundary: everything the queue knows of it
  // (pending actions with their waiting time, the last processed seq) leaves with it.
  struct ActorState {
    ActorId actor = 0;
    std::uint64_t processed_seq = 0;
    std::vector<Action> pending;
  };
  ActorState release(ActorId actor);
  void adopt(ActorState state);
  bool holds(ActorId actor) const { return actors_.count(actor) != 0; }

  std::size_t size() const { return queued_; }
  std::uint64_t processed_seq(ActorId actor) const;
  QueueStats stats() const;

 private:
  struct ActorQueue {
    // Ascending client_seq, no two equal. A vector, not a map: an actor rarely has more than a
    // few actions queued, they mostly arrive in order (appended), and the capacity stays with
    // the actor, so a tick allocates nothing per action.
    std::vector<Action> pending;
    std::uint64_t processed_seq = 0;
    bool listed = false;  // in active_
    // Inserts in order; false if that seq is already queued.
    bool insert(Action&& a);
  };

  void resize_stats();

  PriorityRules rules_;
  boost::unordered_flat_map<ActorId, ActorQueue> actors_;  // values move on growth
  // Actors with pending actions — a tick visits only these. A list, not a set (no allocation per
  // action); it may name an actor that has since been released, which take() skips.
  std::vector<ActorId> active_;
  std::size_t queued_ = 0;
  QueueStats stats_;
};

}  // namespace worldline::region
