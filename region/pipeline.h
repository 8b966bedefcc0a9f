// RegionPipeline: one region's actions from ingress to CRDT deltas — route each action to the
// queue of its actor's cell, run a tick cell by cell (causal priority order, game rules), then,
// at the tick boundary, hand over actors that moved to another cell and rebalance the partition,
// re-homing the actors of split and merged cells. An actor's scheduling state lives in exactly one
// cell's queue at any time, so no action is lost or applied twice across hand-overs.
//
// This is the single-threaded core: cells are processed one after another on the calling thread.
// Running each worker's cells on its own thread comes next (issue #4).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

#include "region/action_queue.h"
#include "region/game_rules.h"
#include "region/ingress.h"
#include "region/partitioner.h"
#include "replica/histogram.h"

namespace worldline::region {

struct PipelineStats {
  std::uint64_t ticks = 0;
  std::uint64_t handovers = 0;  // actors moved to another cell's queue
  std::uint64_t splits = 0, merges = 0;
  RebalanceReport last_rebalance;
  std::uint64_t overruns = 0;  // ticks that took longer than the tick period
  replica::Histogram tick_ms{{1, 2, 5, 10, 16.7, 25, 50, 100, 200, 500}};  // tick durations
};

class RegionPipeline {
 public:
  // REQUIRES: rules, world and clock outlive the pipeline.
  RegionPipeline(PartitionOptions partition, PriorityRules priority, GameRules& rules,
                 replica::Replica& world, crdt::HlcClock& clock, IngressLimits limits = {},
                 double tick_period_ms = 50);

  // Admits an action (validation, HLC stamp) and queues it in its actor's cell. A duplicate of
  // an action already queued or processed is refused as kDuplicate.
  std::optional<Reject> submit(int raw_kind, Action action, std::uint64_t now_ms);
  // Runs one tick and returns every action's outcome, in processing order.
  std::vector<Outcome> tick(std::uint64_t tick);
  // Replaces the priority rules of every cell from the next tick on. REQUIRES: between ticks.
  void set_rules(PriorityRules rules);
  const PriorityRules& rules() const { return priority_; }

  // The cell whose queue holds `actor`'s state (nullopt if it never acted).
  std::optional<CellId> home_of(ActorId actor) const;
  bool queue_holds(CellId cell, ActorId actor) const;
  const SpatialPartitioner& partition() const { return partition_; }
  const PipelineStats& stats() const { return stats_; }
  const Ingress& ingress() const { return ingress_; }

 private:
  CellId cell_for(ActorId actor) const;
  ActionQueue& queue(CellId cell);
  // Moves every actor's queue state to the leaf it stands in (positions read once per tick).
  void rehome_all(const std::vector<std::pair<ActorId, crdt::Vec3>>& positions);

  SpatialPartitioner partition_;
  PriorityRules priority_;
  GameRules& rules_;
  replica::Replica& world_;
  crdt::HlcClock& clock_;
  Ingress ingress_;
  std::map<CellId, ActionQueue> queues_;
  std::unordered_map<ActorId, CellId> home_;
  std::map<CellId, std::uint64_t> processed_in_cell_;  // this tick, for the load
  double tick_period_ms_;
  PipelineStats stats_;
};

}  // namespace worldline::region
