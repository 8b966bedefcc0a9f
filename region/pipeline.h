// RegionPipeline: one region's actions from ingress to CRDT deltas, on N worker threads.
//
// submit() validates an action, stamps it and hands it to the cell its actor stands in; the cell's
// worker moves it into the cell's queue when the next tick starts (so the coordinator does not pay
// for queueing). tick() runs in phases, each on every worker at once (TickWorkers: a barrier
// before and after):
//   1. every cell queues its arrivals, then processes its queue in causal priority order
//      (ActionQueue) with the game rules; an interaction whose target stands in another cell runs
//      its actor half here and is forwarded to the target's cell;
//   2. every cell resolves the interactions forwarded to it, in HLC stamp order — the target's
//      owner decides, deterministically, whatever the number of workers;
//      (in phases 1 and 2 a worker that has run its own cells runs those of the others not yet
//      started: a cell's costs are not its load, and each phase ends only with its slowest worker);
//   3. every cell re-places the entities standing in it that moved: in its own interest grid, and
//      for one that crossed into another cell, in that cell's grid (at once if the same worker
//      owns it, else as a request to the owning worker); an actor that crossed leaves the cell's
//      queue with its pending actions (a hand-over); entities it does not own are left to the
//      coordinator;
//   4. every cell makes the insertions phase 3 requested in its grid and adopts the actors handed
//      over to it;
//   then, on the calling thread (the coordinator): every cell's deltas go into the replica (one
//   delta group per tick, journaled and gossiped by its owner), the cells' clocks are brought into
//   step, the other entities that moved are re-placed, cell loads are reported, the partition
//   rebalances (split, merge, cells moved between workers), and the actors whose cell changed
//   in this part (or all of them, after a split or merge) are handed over.
//
// Placement: every entity with a position — local or written by another region — stands in
// exactly one cell, whose interest grid holds it, and is a read-only ghost in the other cells
// within `ghost_margin` of it: their handlers find it in its own cell's grid (no worker changes a
// grid during phases 1 and 2, so reading a neighbour's is safe then), filtered by the margin.
// Entities moved by other regions (their authority) are re-placed from the replica's change list
// at the start of each tick, so local interest queries see them.
//
// Threading: submit(), tick() and every other call from one thread, the same that owns the
// replica (remote deltas join between ticks, never during one). Handlers run on the workers and
// touch the world only through their cell's CellWorld (and read the interest grids, through
// their HandlerContext).
//
// The parts, one file each: Cell and CellTable (region/cell.h), ActionRouter (admitted actions
// into their actor's cell: region/action_router.h), PlacementTable (who stands where:
// region/placement.h), HandOvers (actors between cells: region/handover.h), Ghosts
// (region/ghost_view.h) and PairwiseMailbox (what a phase hands the next across workers).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "region/action_observer.h"
#include "region/action_queue.h"
#include "region/action_router.h"
#include "region/cell.h"
#include "region/cell_world.h"
#include "region/game_rules.h"
#include "region/ghost_view.h"
#include "region/handover.h"
#include "region/ingress.h"
#include "region/interest_grid.h"
#include "region/pairwise_mailbox.h"
#include "region/partitioner.h"
#include "region/placement.h"
#include "region/tick_workers.h"
#include "replica/histogram.h"

namespace worldline::region {

struct PipelineOptions {
  PartitionOptions partition;  // partition.workers is the number of worker threads
  IngressLimits limits;
  double tick_period_ms = 50;
  // World units: an entity this close to a cell is a ghost there. At least the longest reach of
  // an interaction (attack range), so a handler sees every entity it may touch.
  double ghost_margin = 8;
  double interest_bucket = 25;  // world units: the interest grid's bucket size
  // How long a worker waiting between a tick's phases spins before it sleeps (TickWorkers).
  std::chrono::microseconds worker_spin = TickWorkers::kDefaultSpin;
};

// Where the last tick's time went, in ms: the cause an overrun is logged with.
struct TickPhases {
  double absorb_ms = 0;       // placing entities moved between ticks (peers, spawns)
  double own_actions_ms = 0;  // phase 1, on the workers
  double forwarded_ms = 0;    // phase 2, on the workers
  double flush_ms = 0;        // deltas into the replica
  double place_ms = 0;        // re-placing what moved
  double rebalance_ms = 0;    // loads, rebalance, regrid, hand-overs
};

struct PipelineStats {
  std::uint64_t ticks = 0;
  std::uint64_t processed = 0;
  std::uint64_t handovers = 0;  // actors moved to another cell's queue
  std::uint64_t forwarded = 0;  // interactions resolved by the target's cell
  std::uint64_t splits = 0, merges = 0;
  // Of `splits`: made ahead, for an expected load (expect_load()) on a leaf whose measured load
  // was at most split_load, i.e. that the reactive partitioner would not have split then.
  std::uint64_t splits_ahead = 0;
  std::size_t expectations_held = 0;  // expected loads held by the partition now
  std::uint64_t regrids = 0;          // re-placements of changed cells after the tree changed
  std::uint64_t remote_moves = 0;     // positions written outside this pipeline (peers, spawns)
  RebalanceReport last_rebalance;
  TickPhases last_phases;
  std::uint64_t overruns = 0;  // ticks that took longer than the tick period
  replica::Histogram tick_ms{{1, 2, 5, 10, 16.7, 25, 50, 100, 200, 500}};  // tick durations
  // HLC stamp at ingress → processed, in ms of the physical clock (includes the wait for the tick).
  replica::Histogram latency_ms{{1, 5, 10, 20, 50, 75, 100, 200, 500, 1000}};
};

// One cell as the stats API shows it.
struct CellReport {
  CellId cell = 0;
  int worker = 0;
  std::size_t queued = 0;    // actions waiting
  std::size_t entities = 0;  // standing in it
  std::size_t ghosts = 0;    // of neighbours, within the margin
  std::uint64_t processed_last_tick = 0;
};

// One cell's load as the director samples it every tick (RegionPipeline::cell_loads).
struct CellLoad {
  CellId cell = 0;
  std::size_t entities = 0;  // standing in it
  std::uint64_t processed_last_tick = 0;
};

// One action as handed to RegionPipeline::submit_all().
struct Submission {
  int raw_kind = 0;  // checked: an unknown kind is refused
  Action action;
};

class RegionPipeline {
 public:
  // REQUIRES: rules, world and clock outlive the pipeline's ticks, and world.commit() is called
  // on the thread that calls tick() (the workers encode the group with it, see
  // Replica::set_commit_parallelism). Starts partition.workers - 1 threads; entities already in
  // the world are placed.
  RegionPipeline(PipelineOptions options, PriorityRules priority, GameRules& rules,
                 replica::Replica& world, crdt::HlcClock& clock);
  ~RegionPipeline();

  // Admits an action (validation, HLC stamp) and queues it in its actor's cell. A duplicate of
  // an action already queued or processed is refused as kDuplicate.
  std::optional<Reject> submit(int raw_kind, Action action, std::uint64_t now_ms);
  // The same for many actions, with the outcome of submitting each in turn: checks and HLC
  // stamps in order on this thread, then the routing to cells on the workers — each worker the
  // actors whose id mod the worker count is its own, in order — and what needs home_ or a queue
  // (a new actor, a resend, an action out of order) here again, in order. Returns the rejected
  // ones, by ascending index in the batch; the others were admitted. The actions are moved from.
  struct Rejected {
    std::size_t index;  // in the batch
    Reject reject;
  };
  std::vector<Rejected> submit_all(std::vector<Submission>& batch, std::uint64_t now_ms);
  // Runs one tick and returns every action's outcome: phase 1 by cell, then phase 2 by cell.
  std::vector<Outcome> tick(std::uint64_t tick);
  // Actions of `actor` up to `seq` were processed elsewhere (another region, before a failover):
  // from now on they are refused here as duplicates.
  void mark_processed(ActorId actor, std::uint64_t seq);
  // Forgets the actions of `actor` admitted but not yet processed (their region lost the actor's
  // authority: they must not be applied here). Returns how many were dropped. A later resend of
  // one of them is admitted again, as it was never processed.
  std::size_t drop_pending(ActorId actor);
  // The highest seq of `actor` processed by this pipeline (or marked), 0 if none.
  std::uint64_t processed_seq(ActorId actor) const;
  // A side tap on the ordered stream (the anticheat): called on the workers with each action
  // and its actor half's outcome. nullptr: none. REQUIRES: between ticks; it outlives the ticks.
  void set_observer(ActionObserver* observer) { observer_ = observer; }
  // Replaces the priority rules of every cell from the next tick on. REQUIRES: between ticks.
  void set_rules(PriorityRules rules);
  const PriorityRules& rules() const { return cells_.rules(); }

  // Expects `load` (entities + actions per tick, the partition's unit) over `area` through the
  // rebalance ending tick `until_tick`: from the end of the next tick on, the partition splits
  // the area and assigns workers as if it carried that load, and does not merge it back until
  // the expectation expires (SpatialPartitioner::expect_load() says which ones are held).
  // REQUIRES: between ticks.
  ExpectOutcome expect_load(const Rect& area, std::uint32_t load, std::uint64_t until_tick);

  // Entities (local or remote) standing within r of (x, z), sorted by id.
  std::vector<crdt::EntityId> within(double x, double z, double r) const;
  // The cell an entity stands in (nullopt: it has no position), and where it is a ghost.
  std::optional<CellId> cell_of_entity(crdt::EntityId id) const;
  std::vector<CellId> ghost_cells_of(crdt::EntityId id) const;
  // What a handler in `cell` sees of its neighbours: their entities within r of (x, z) that are
  // ghosts there, sorted by id (empty for a cell that is not a leaf).
  std::vector<crdt::EntityId> ghosts_within(CellId cell, double x, double z, double r) const;

  // The cell whose queue holds `actor`'s state (nullopt if it never acted).
  std::optional<CellId> home_of(ActorId actor) const;
  bool queue_holds(CellId cell, ActorId actor) const;
  const SpatialPartitioner& partition() const { return partition_; }
  const PipelineStats& stats() const { return stats_; }
  const Ingress& ingress() const { return ingress_; }
  std::vector<CellReport> cells() const;
  // The leaves' entities and last-tick actions into `out` (cleared first): cells() without its
  // per-cell ghost scan and queue sizes, cheap enough for every tick.
  void cell_loads(std::vector<CellLoad>& out) const;
  QueueStats queue_stats() const;  // summed over cells
  int workers() const { return workers_.size(); }

 private:
  // Each worker's cells, as phases 1 and 2 share them out ([worker]: the cells it owns).
  using CellsByWorker = std::vector<std::vector<Cell*>>;

  // Runs job(cell, worker) once for every cell of `mine` on the workers: each worker its own
  // cells, then, with none left, those of the others not yet started — how phases 1 and 2 stay
  // balanced when the cells' costs differ from their loads. Only for work that touches nothing
  // but the cell and the running worker's own state (clock, histogram, forwards_ from it); the
  // interest grids stay with the worker owning the cell (phases 3, 4).
  void run_cells(const CellsByWorker& mine, const std::function<void(Cell&, int)>& job);
  // Re-places entities whose position was written outside the tick (peers' deltas, spawns).
  void absorb_changes();
  // The cells by worker, ready for a new tick: counters reset, clocks after the region's.
  CellsByWorker start_cells();
  // Phase 1, on `worker`: an interaction on an entity of another cell runs its actor half here
  // and is posted to the worker owning the target's cell (forwards_).
  void run_own_actions(Cell& c, int worker, std::uint64_t tick, replica::Histogram& latency_ms);
  // Phase 2: the interactions forwarded to `c`, in stamp order.
  void run_forwarded(Cell& c, std::uint64_t tick);
  // Phases 3 and 4: re-places what the cells moved and hands over the actors that crossed into
  // another cell; returns the tick's outcomes (phase 1's by cell, then phase 2's by cell), moved
  // into place by the cells' workers.
  std::vector<Outcome> place_steps(const CellsByWorker& mine);
  // Phase 3, on `worker`: re-places the entities standing in `c` that it wrote a position of;
  // those it does not own (new ones, or moved by another cell's interaction) are left in c.moved
  // for the coordinator. An actor queued in `c` that moved to another cell leaves c's queue
  // (HandOvers::crossed, adopted in phase 4).
  void place_own_steps(Cell& c, int worker);
  // On the coordinator after phase 4: every cell's deltas into the replica. Returns the actions
  // the cells processed.
  std::uint64_t flush(const CellsByWorker& mine);
  // The region's clock and every cell's brought into step; the workers' latencies merged.
  void step_clocks();
  // Loads reported, the partition rebalanced (cells regridded after a split or merge), actors
  // whose cell changed handed over, cells no longer leaves dropped.
  void rebalance(std::uint64_t tick);

  PipelineOptions options_;
  SpatialPartitioner partition_;
  GameRules& rules_;
  ActionObserver* observer_ = nullptr;
  replica::Replica& world_;
  crdt::HlcClock& clock_;
  Ingress ingress_;
  TickWorkers workers_;
  std::shared_ptr<TickWorkers*> lent_workers_;  // the replica's weak handle on workers_
  std::vector<replica::Histogram> worker_latency_;
  CellTable cells_;
  PlacementTable placements_;
  Ghosts ghosts_;
  ActionRouter router_;
  HandOvers handovers_;
  // [from worker][to worker]: phase 1's interactions on other cells' entities, with the target's
  // cell, taken into its inbox by the worker owning it in phase 2.
  PairwiseMailbox<std::pair<CellId, Action>> forwards_;
  PipelineStats stats_;
};

}  // namespace worldline::region
