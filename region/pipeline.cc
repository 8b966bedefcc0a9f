#include "region/pipeline.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <set>
#include <tuple>

namespace worldline::region {

struct RegionPipeline::Cell {
  Cell(CellId id_, const PriorityRules& rules, const replica::Store& store,
       replica::ReplicaId region, double bucket, int workers, const crdt::HlcClock& region_clock)
      : id(id_),
        clock(region_clock.node(), region_clock.physical(), region_clock.max_skew_ms()),
        arrivals(static_cast<std::size_t>(workers)),
        queue(rules),
        world(store, region),
        own(bucket) {
    clock.catch_up(region_clock.last());
  }

  CellId id;
  // Stamps the cell's writes (LWW, first-claim), whichever worker runs it: the same stamps
  // whatever the workers and whoever runs which cell. Brought into step with the region's clock
  // and every other cell's at each tick boundary.
  crdt::HlcClock clock;
  // Admitted since the last tick, by the worker that routed them (submit_all(); submit() and
  // everything on the calling thread use [0]), each list in arrival order: the cell's worker
  // queues them when the tick starts. An actor's actions may sit in two lists (submit() after
  // submit_all()): the queue orders them by client_seq, whatever order they are pushed in.
  std::vector<std::vector<Action>> arrivals;
  ActionQueue queue;
  CellWorld world;
  InterestGrid own;  // entities standing here (the neighbours read it for their ghosts)
  // Phase 2: the interactions other cells forwarded here (RegionPipeline::forwards_).
  std::vector<Action> inbox;
  std::vector<Outcome> outcomes, forwarded_outcomes;       // this tick's, by phase
  std::size_t outcomes_at = 0, forwarded_outcomes_at = 0;  // where they go in tick()'s result
  // Phase 3 → coordinator: entities this cell moved that phase 3 could not re-place on its own.
  std::vector<std::pair<crdt::EntityId, crdt::Vec3>> moved;
  std::uint64_t processed = 0;  // this tick, of its own queue
  std::uint64_t resolved = 0;   // this tick, forwarded here by other cells
};

namespace {

int worker_count(const PartitionOptions& p) {
  return std::max(1, p.workers);
}

PartitionOptions with_workers(PartitionOptions p) {
  p.workers = worker_count(p);
  return p;
}

// A cell's ghosts, as its handlers see them.
class CellGhosts final : public GhostView {
 public:
  CellGhosts(const RegionPipeline& pipeline, CellId cell) : pipeline_(pipeline), cell_(cell) {}
  std::vector<crdt::EntityId> within(double x, double z, double r) const override {
    return pipeline_.ghosts_within(cell_, x, z, r);
  }

 private:
  const RegionPipeline& pipeline_;
  CellId cell_;
};

}  // namespace

RegionPipeline::RegionPipeline(PipelineOptions options, PriorityRules priority, GameRules& rules,
                               replica::Replica& world, crdt::HlcClock& clock)
    : options_(options),
      partition_(with_workers(options.partition)),
      priority_(std::move(priority)),
      rules_(rules),
      world_(world),
      clock_(clock),
      ingress_(options.limits, clock),
      workers_(worker_count(options.partition), options.worker_spin) {
  for (int w = 0; w < workers_.size(); ++w)
    worker_latency_.emplace_back(stats_.latency_ms.bounds());
  forwards_.assign(static_cast<std::size_t>(workers_.size()),
                   std::vector<std::vector<std::pair<CellId, Action>>>(
                       static_cast<std::size_t>(workers_.size())));
  grid_inserts_.assign(
      static_cast<std::size_t>(workers_.size()),
      std::vector<std::vector<GridInsert>>(static_cast<std::size_t>(workers_.size())));
  rehomed_by_worker_.resize(static_cast<std::size_t>(workers_.size()));
  handovers_.assign(static_cast<std::size_t>(workers_.size()),
                    std::vector<std::vector<HandOver>>(static_cast<std::size_t>(workers_.size())));
  for (CellId leaf : partition_.leaves())
    cell(leaf);
  world_.watch_changes();
  if (workers_.size() > 1) {
    // The group commit after each tick runs on this (the tick's) thread while the workers wait
    // for the next tick: they encode its deltas with it. The replica may outlive the pipeline (a
    // node tears the replica down first, a test the pipeline): it holds only a weak handle, and
    // encodes alone once the workers are gone.
    lent_workers_ = std::make_shared<TickWorkers*>(&workers_);
    world_.set_commit_parallelism(
        [lent = std::weak_ptr<TickWorkers*>(lent_workers_)](
            std::size_t n, const std::function<void(std::size_t, std::size_t)>& body) {
          const auto workers = lent.lock();
          if (!workers) {
            body(0, n);
            return;
          }
          TickWorkers& pool = **workers;
          const auto k = static_cast<std::size_t>(pool.size());
          pool.run([&](int w) {
            const auto i = static_cast<std::size_t>(w);
            body(n * i / k, n * (i + 1) / k);
          });
        });
  }
  for (const auto& [key, value] : world_.store().entries()) {
    if (key.component == kPositionComponent) place(key.entity);
  }
  (void)world_.take_changes();  // everything there is has just been placed
}

RegionPipeline::~RegionPipeline() = default;

RegionPipeline::Cell& RegionPipeline::cell(CellId id) {
  auto it = cells_.find(id);
  if (it == cells_.end()) {
    it = cells_
             .emplace(id, std::make_unique<Cell>(id, priority_, world_.store(), world_.id(),
                                                 options_.interest_bucket, workers_.size(), clock_))
             .first;
  }
  return *it->second;
}

CellId RegionPipeline::owner_cell(crdt::EntityId entity) const {
  auto it = placed_.find(entity);
  if (it != placed_.end()) return it->second.home;
  return partition_.cell_of(0, 0);  // no position (an item on no map, an unknown actor)
}

std::optional<Reject> RegionPipeline::submit(int raw_kind, Action action, std::uint64_t now_ms) {
  if (auto reject = ingress_.admit(raw_kind, action, now_ms)) return reject;
  return route(std::move(action));
}

std::vector<RegionPipeline::Rejected> RegionPipeline::submit_all(std::vector<Submission>& batch,
                                                                 std::uint64_t now_ms) {
  std::vector<Rejected> out;
  const auto k = static_cast<std::size_t>(workers_.size());
  // Below this many, waking the workers costs more than it saves.
  constexpr std::size_t kParallelFrom = 256;
  if (k == 1 || batch.size() < kParallelFrom) {
    for (std::size_t i = 0; i < batch.size(); ++i) {
      Action& a = batch[i].action;
      auto reject = ingress_.admit(batch[i].raw_kind, a, now_ms);
      if (!reject) reject = route(std::move(a));
      if (reject) out.push_back(Rejected{i, std::move(*reject)});
    }
    return out;
  }
  // Checks and HLC stamps in submission order, here: the same stamps whatever the number of
  // workers. Then each worker routes the actions of its share of the actors (actor id mod k).
  std::vector<std::vector<std::uint32_t>> share(k);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (auto reject = ingress_.admit(batch[i].raw_kind, batch[i].action, now_ms)) {
      out.push_back(Rejected{i, std::move(*reject)});
    } else {
      share[batch[i].action.actor % k].push_back(static_cast<std::uint32_t>(i));
    }
  }
  // An action whose actor has no Home yet, or that is not newer than all its actor sent before
  // (a resend, out of order), is left to route() below: inserting into home_, or pushing into a
  // cell's queue, is not for the workers. An actor's later actions follow its first into that
  // path (a new actor's find keeps failing until then), so its order holds.
  std::vector<std::vector<std::uint32_t>> left(k);
  workers_.run([&](int w) {
    const auto i = static_cast<std::size_t>(w);
    for (std::uint32_t b : share[i]) {
      Action& a = batch[b].action;
      // home_ is only read here (no insertion while the workers run), and each actor's Home
      // written by the one worker routing it.
      auto home = home_.find(a.actor);
      if (home == home_.end() || a.client_seq <= home->second.newest_seq) {
        left[i].push_back(b);
        continue;
      }
      home->second.newest_seq = a.client_seq;
      cells_.at(home->second.cell)->arrivals[i].push_back(std::move(a));
    }
  });
  std::vector<std::uint32_t> rest;
  for (const auto& l : left)
    rest.insert(rest.end(), l.begin(), l.end());
  std::sort(rest.begin(), rest.end());  // submission order
  const auto admitted_rejects = static_cast<std::ptrdiff_t>(out.size());
  for (std::uint32_t b : rest) {
    if (auto reject = route(std::move(batch[b].action)))
      out.push_back(Rejected{b, std::move(*reject)});
  }
  std::inplace_merge(out.begin(), out.begin() + admitted_rejects, out.end(),
                     [](const Rejected& x, const Rejected& y) { return x.index < y.index; });
  return out;
}

std::optional<Reject> RegionPipeline::route(Action&& action) {
  auto [it, fresh] = home_.try_emplace(action.actor);
  Home& home = it->second;
  if (fresh) home.cell = owner_cell(action.actor);
  Cell& c = cell(home.cell);
  if (action.client_seq > home.newest_seq) {  // the common case: newer than all before it
    home.newest_seq = action.client_seq;
    c.arrivals[0].push_back(std::move(action));
    return std::nullopt;
  }
  // A resend, or out of order: only the queue knows, once the cell's arrivals are in it.
  queue_arrivals(c, stats_.ticks + 1);
  const ActorId actor = action.actor;
  const std::uint64_t seq = action.client_seq;
  if (!c.queue.push(std::move(action), stats_.ticks + 1)) {
    ingress_.count(RejectReason::kDuplicate);
    return Reject{RejectReason::kDuplicate, "action " + std::to_string(seq) + " of " +
                                                std::to_string(actor) + " was already received"};
  }
  return std::nullopt;
}

void RegionPipeline::queue_arrivals(Cell& c, std::uint64_t for_tick) {
  for (auto& arrivals : c.arrivals) {
    for (Action& a : arrivals) {
      const ActorId actor = a.actor;
      const std::uint64_t seq = a.client_seq;
      if (!c.queue.push(std::move(a), for_tick)) {
        spdlog::error("region: arrival {} of actor {} refused by cell {}'s queue (bug)", seq, actor,
                      c.id);
      }
    }
    arrivals.clear();
  }
}

void RegionPipeline::mark_processed(ActorId actor, std::uint64_t seq) {
  auto [it, fresh] = home_.try_emplace(actor);
  Home& home = it->second;
  if (fresh) home.cell = owner_cell(actor);
  home.newest_seq = std::max(home.newest_seq, seq);
  Cell& c = cell(home.cell);
  queue_arrivals(c, stats_.ticks + 1);
  c.queue.adopt(ActionQueue::ActorState{actor, seq, {}});
}

std::size_t RegionPipeline::drop_pending(ActorId actor) {
  auto home = home_.find(actor);
  if (home == home_.end()) return 0;
  Cell& c = cell(home->second.cell);
  queue_arrivals(c, stats_.ticks + 1);  // its arrivals too
  ActionQueue::ActorState state = c.queue.release(actor);
  const std::size_t dropped = state.pending.size();
  state.pending.clear();
  c.queue.adopt(std::move(state));  // keeps its processed seq
  return dropped;
}

std::uint64_t RegionPipeline::processed_seq(ActorId actor) const {
  auto home = home_.find(actor);
  if (home == home_.end()) return 0;
  return cells_.at(home->second.cell)->queue.processed_seq(actor);
}

void RegionPipeline::run_cells(const std::vector<std::vector<Cell*>>& mine,
                               const std::function<void(Cell&, int)>& job) {
  // One cursor per worker's list, shared: whoever takes a cell from it runs it, exactly once.
  std::vector<std::atomic<std::size_t>> next(mine.size());
  workers_.run([&](int w) {
    for (std::size_t d = 0; d < mine.size(); ++d) {
      const std::size_t list = (static_cast<std::size_t>(w) + d) % mine.size();
      for (std::size_t i;
           (i = next[list].fetch_add(1, std::memory_order_relaxed)) < mine[list].size();)
        job(*mine[list][i], w);
    }
  });
}

void RegionPipeline::run_own_actions(Cell& c, int worker, std::uint64_t tick,
                                     replica::Histogram& latency_ms) {
  crdt::HlcClock& clock = c.clock;
  auto& forwards = forwards_[static_cast<std::size_t>(worker)];
  const CellGhosts ghosts(*this, c.id);
  HandlerContext ctx{c.world, clock, tick, &c.own, &ghosts};
  const std::uint64_t now_ms = clock.physical().now_ms();
  for (Action& a : c.queue.take(tick)) {
    ++c.processed;
    latency_ms.record(static_cast<double>(now_ms - std::min(now_ms, a.stamp.physical_ms)));
    const GameRules::Rule& rule = rules_.rule(a.kind);
    Outcome o = rule.on_actor(a, ctx);
    if (observer_) observer_->observe(a, o, tick);
    if (o.ok && rule.on_target) {
      if (a.target != a.actor) {
        const CellId target_cell = owner_cell(a.target);
        if (target_cell != c.id) {  // the target's owner decides, in phase 2
          forwards[static_cast<std::size_t>(partition_.worker_of(target_cell))].emplace_back(
              target_cell, std::move(a));
          continue;
        }
      }
      o = rule.on_target(a, ctx);
    }
    c.outcomes.push_back(std::move(o));
  }
}

bool RegionPipeline::place_entity(crdt::EntityId id, Placement& p, const crdt::Vec3& pos,
                                  bool fresh, int worker, Cell* home) {
  p.pos = pos;
  if (!fresh) {
    InterestGrid& grid = (home ? *home : *cells_.at(p.home)).own;
    if (partition_.bounds(p.home).contains(pos.x, pos.z)) {  // the common case: a step inside
      grid.move(p.slot, id, pos.x, pos.z);
      return false;
    }
    grid.erase(p.slot, id);
  }
  p.home = partition_.cell_of(pos.x, pos.z);
  const int owner = partition_.worker_of(p.home);
  if (worker == kCoordinator || worker == owner) {
    p.slot = cells_.at(p.home)->own.insert(id, pos.x, pos.z);
  } else {
    grid_inserts_[static_cast<std::size_t>(worker)][static_cast<std::size_t>(owner)].push_back(
        GridInsert{p.home, id, pos.x, pos.z, &p.slot});
  }
  return true;
}

void RegionPipeline::place_own_steps(Cell& c, int worker) {
  const auto w = static_cast<std::size_t>(worker);
  c.world.for_each_written([&](const replica::Key& key, const replica::ComponentValue& v) {
    if (key.component != kPositionComponent) return;
    const auto& position = std::get<crdt::Position>(v);
    if (!position.has_value()) return;
    // Workers share placed_ and home_ read-only (no insertion or erasure until the coordinator's
    // turn); an entity standing in this cell, and the Home of an actor queued here, are this
    // worker's to update.
    auto it = placed_.find(key.entity);
    if (it == placed_.end() || it->second.home != c.id) {
      c.moved.emplace_back(key.entity, position.value());
      return;
    }
    if (!place_entity(key.entity, it->second, position.value(), false, worker, &c)) {
      return;
    }
    auto home = home_.find(key.entity);
    if (home == home_.end()) return;  // never acted: no queue state to hand over
    if (home->second.cell != c.id) {  // queued elsewhere: the coordinator sorts it out
      rehomed_by_worker_[w].push_back(key.entity);
      return;
    }
    // The actor's pending actions leave with it: released here, adopted in phase 4 by the worker
    // owning the cell it moved into.
    const CellId to = it->second.home;
    home->second.cell = to;
    handovers_[w][static_cast<std::size_t>(partition_.worker_of(to))].push_back(
        HandOver{to, c.queue.release(key.entity)});
  });
}

void RegionPipeline::apply_grid_ops(int worker) {
  const auto w = static_cast<std::size_t>(worker);
  for (auto& from : grid_inserts_) {
    for (const GridInsert& i : from[w])
      *i.slot_out = cells_.at(i.cell)->own.insert(i.entity, i.x, i.z);
    from[w].clear();
  }
  for (auto& from : handovers_) {
    for (HandOver& h : from[w])
      cells_.at(h.to)->queue.adopt(std::move(h.state));
    from[w].clear();
  }
}

void RegionPipeline::run_forwarded(Cell& c, std::uint64_t tick) {
  crdt::HlcClock& clock = c.clock;
  // In stamp order: the same outcome whatever cell or worker each interaction came from.
  std::sort(c.inbox.begin(), c.inbox.end(), [](const Action& a, const Action& b) {
    return std::tie(a.stamp, a.actor, a.client_seq) < std::tie(b.stamp, b.actor, b.client_seq);
  });
  const CellGhosts ghosts(*this, c.id);
  HandlerContext ctx{c.world, clock, tick, &c.own, &ghosts};
  for (const Action& a : c.inbox)
    c.forwarded_outcomes.push_back(rules_.rule(a.kind).on_target(a, ctx));
  c.resolved = c.inbox.size();
  c.inbox.clear();
}

std::vector<Outcome> RegionPipeline::tick(std::uint64_t tick) {
  const auto start = std::chrono::steady_clock::now();
  auto lap = start;
  auto split = [&lap](double& into) {
    const auto now = std::chrono::steady_clock::now();
    into = std::chrono::duration<double, std::milli>(now - lap).count();
    lap = now;
  };
  TickPhases& phases = stats_.last_phases;
  ++stats_.ticks;
  const std::uint64_t handovers_before = stats_.handovers;
  absorb_changes();  // peers' deltas and writes made between ticks
  split(phases.absorb_ms);

  std::vector<std::vector<Cell*>> mine(static_cast<std::size_t>(workers_.size()));
  for (auto& [id, c] : cells_) {
    c->processed = 0;
    c->resolved = 0;
    // The region's clock may have moved between ticks (ingress stamps, peers' stamps merged on
    // join): every cell stamps after it.
    c->clock.catch_up(clock_.last());
    mine[static_cast<std::size_t>(partition_.worker_of(id))].push_back(c.get());
  }

  // What the [from worker][to worker] lists between phases hold.
  auto count = [](const auto& by_pair) {
    std::size_t n = 0;
    for (const auto& from : by_pair) {
      for (const auto& to : from)
        n += to.size();
    }
    return n;
  };

  // Phase 1: every cell's own queue.
  run_cells(mine, [&](Cell& c, int w) {
    queue_arrivals(c, tick);
    run_own_actions(c, w, tick, worker_latency_[static_cast<std::size_t>(w)]);
  });
  split(phases.own_actions_ms);
  // Phase 2: interactions across cells, resolved by the target's cell in stamp order — each
  // worker first takes those forwarded to its cells into their inboxes.
  const std::size_t forwarded = count(forwards_);
  stats_.forwarded += forwarded;
  if (forwarded > 0) {
    workers_.run([&](int w) {
      const auto i = static_cast<std::size_t>(w);
      for (auto& from : forwards_) {
        for (auto& [to, a] : from[i])
          cells_.at(to)->inbox.push_back(std::move(a));
        from[i].clear();
      }
    });
    run_cells(mine, [&](Cell& c, int) { run_forwarded(c, tick); });
  }
  split(phases.forwarded_ms);
  // The tick's outcomes: phase 1's by cell, then phase 2's by cell, each cell's moved into place
  // by its worker in phase 3.
  std::size_t outcome_count = 0;
  for (auto& [id, c] : cells_) {
    c->outcomes_at = outcome_count;
    outcome_count += c->outcomes.size();
  }
  for (auto& [id, c] : cells_) {
    c->forwarded_outcomes_at = outcome_count;
    outcome_count += c->forwarded_outcomes.size();
  }
  std::vector<Outcome> out(outcome_count);
  // Phase 3: entities re-placed by the worker of the cell they stood in; phase 4: the changes
  // that makes to other cells' grids, by the workers owning those cells.
  workers_.run([&](int w) {
    const auto i = static_cast<std::size_t>(w);
    for (Cell* c : mine[i]) {
      std::move(c->outcomes.begin(), c->outcomes.end(),
                out.begin() + static_cast<std::ptrdiff_t>(c->outcomes_at));
      c->outcomes.clear();
      std::move(c->forwarded_outcomes.begin(), c->forwarded_outcomes.end(),
                out.begin() + static_cast<std::ptrdiff_t>(c->forwarded_outcomes_at));
      c->forwarded_outcomes.clear();
      place_own_steps(*c, w);
    }
  });
  const std::size_t handed_over = count(handovers_);
  if (handed_over > 0 || count(grid_inserts_) > 0) {
    workers_.run([&](int w) { apply_grid_ops(w); });
  }
  stats_.handovers += handed_over;
  for (auto& moved : rehomed_by_worker_) {
    rehomed_.insert(rehomed_.end(), moved.begin(), moved.end());
    moved.clear();
  }
  double place_ms = 0;
  split(place_ms);

  // Tick boundary, on this thread: deltas into the replica, clocks in step.
  std::uint64_t processed = 0;
  std::vector<std::vector<replica::Replica::PreparedWrite>*> writes;
  writes.reserve(cells_.size());
  for (auto& [id, c] : cells_) {
    writes.push_back(c->world.writes());
    processed += c->processed;
  }
  // Values on the workers, the open group here. The change list would name exactly this tick's
  // writes, which phase 3 and the coordinator (below) re-place: it is left out of it.
  world_.write_prepared(writes, /*note_changes=*/false);
  workers_.run([&](int w) {  // the moved-from writes, destroyed by their cells' workers
    for (Cell* c : mine[static_cast<std::size_t>(w)])
      c->world.forget_writes();
  });
  stats_.processed += processed;
  split(phases.flush_ms);
  crdt::Hlc latest = clock_.last();
  for (auto& [id, c] : cells_)
    latest = std::max(latest, c->clock.last());
  clock_.catch_up(latest);
  for (auto& [id, c] : cells_)
    c->clock.catch_up(latest);
  for (auto& h : worker_latency_) {
    stats_.latency_ms.merge(h);
    h = replica::Histogram(stats_.latency_ms.bounds());
  }

  // Re-place what moved otherwise (across or near an edge), report loads, rebalance, hand actors
  // over.
  for (auto& [id, c] : cells_) {
    for (const auto& [entity, pos] : c->moved)
      place_at(entity, pos);
    c->moved.clear();
  }
  split(phases.place_ms);
  phases.place_ms += place_ms;
  std::map<CellId, Rect> before;  // the leaves as they were, for regrid()
  for (auto& [id, c] : cells_) {
    // Entities and every action handled here — its own and those forwarded to it: a cell that
    // resolves many interactions costs its worker as much as one that starts them.
    partition_.set_load(id, c->own.size() + c->processed + c->resolved);
    before.emplace_hint(before.end(), id, partition_.bounds(id));
  }
  stats_.last_rebalance = partition_.rebalance(tick);
  stats_.splits += static_cast<std::uint64_t>(stats_.last_rebalance.splits);
  stats_.splits_ahead += static_cast<std::uint64_t>(stats_.last_rebalance.splits_ahead);
  stats_.expectations_held = partition_.expected_loads().size();
  stats_.merges += static_cast<std::uint64_t>(stats_.last_rebalance.merges);
  if (stats_.last_rebalance.splits > 0 || stats_.last_rebalance.merges > 0) regrid(before);
  rehome_queues();
  split(phases.rebalance_ms);

  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  stats_.tick_ms.record(ms);
  if (ms > options_.tick_period_ms) {
    ++stats_.overruns;
    spdlog::warn(
        "region tick {} overran: {:.1f} ms > {:.1f} ms period ({} actions in {} cells on {} "
        "workers, {} hand-overs, {} splits, {} merges; ms in absorb {:.1f}, own actions {:.1f}, "
        "forwarded {:.1f}, flush {:.1f}, place {:.1f}, rebalance {:.1f})",
        tick, ms, options_.tick_period_ms, processed, cells_.size(), workers_.size(),
        stats_.handovers - handovers_before, stats_.last_rebalance.splits,
        stats_.last_rebalance.merges, phases.absorb_ms, phases.own_actions_ms, phases.forwarded_ms,
        phases.flush_ms, phases.place_ms, phases.rebalance_ms);
  }
  return out;
}

void RegionPipeline::absorb_changes() {
  for (const replica::Key& key : world_.take_changes()) {
    if (key.component != kPositionComponent) continue;
    place(key.entity);
    ++stats_.remote_moves;
  }
}

void RegionPipeline::place(crdt::EntityId id) {
  const auto pos = GameRules::position(world_, id);
  if (pos) {
    place_at(id, *pos);
    return;
  }
  auto it = placed_.find(id);
  if (it == placed_.end()) return;
  unplace(id, it->second);
  placed_.erase(it);
  rehomed_.push_back(id);
}

void RegionPipeline::unplace(crdt::EntityId id, const Placement& p) {
  cell(p.home).own.erase(p.slot, id);
}

void RegionPipeline::place_at(crdt::EntityId id, const crdt::Vec3& pos) {
  auto [it, fresh] = placed_.try_emplace(id);
  if (place_entity(id, it->second, pos, fresh, kCoordinator)) rehomed_.push_back(id);
}

void RegionPipeline::regrid(const std::map<CellId, Rect>& before) {
  ++stats_.regrids;
  rehome_all_ = true;
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
    cell(leaf);
  }
  std::vector<std::pair<crdt::EntityId, crdt::Vec3>> moving;
  for (const auto& [id, p] : placed_) {
    if (changed.count(p.home)) moving.emplace_back(id, p.pos);
  }
  for (CellId id : changed) {  // their grids are rebuilt
    if (auto it = cells_.find(id); it != cells_.end()) {
      it->second->own = InterestGrid(options_.interest_bucket);
    }
  }
  // Placed afresh in two parallel steps, like phases 3 and 4: each worker works out where its
  // share of the entities stand, and inserts those standing in its own cells; the owners of the
  // other cells insert the rest. Their placements are made here first, so no insertion into
  // placed_ moves them meanwhile.
  for (const auto& [id, pos] : moving) {
    placed_[id] = Placement{pos, 0, 0};
    rehomed_.push_back(id);
  }
  const auto k = static_cast<std::size_t>(workers_.size());
  workers_.run([&](int w) {
    const auto i = static_cast<std::size_t>(w);
    for (std::size_t m = moving.size() * i / k; m < moving.size() * (i + 1) / k; ++m) {
      const auto& [id, pos] = moving[m];
      (void)place_entity(id, placed_.find(id)->second, pos, /*fresh=*/true, w);
    }
  });
  workers_.run([&](int w) { apply_grid_ops(w); });
}

void RegionPipeline::rehome_queues() {
  auto rehome = [this](ActorId actor, Home& home) {
    const CellId target = owner_cell(actor);
    if (target == home.cell) return;
    cell(target).queue.adopt(cell(home.cell).queue.release(actor));
    home.cell = target;
    ++stats_.handovers;
  };
  if (rehome_all_) {
    for (auto& [actor, home] : home_)
      rehome(actor, home);
  } else {
    for (crdt::EntityId id : rehomed_) {
      if (auto it = home_.find(id); it != home_.end()) rehome(id, it->second);
    }
  }
  rehomed_.clear();
  rehome_all_ = false;
  // Cells that are no longer leaves are empty now (their actors were handed over, their deltas
  // flushed, their entities re-placed): drop them (ids are reused).
  const auto leaves = partition_.leaves();
  const std::set<CellId> live(leaves.begin(), leaves.end());
  for (auto it = cells_.begin(); it != cells_.end();) {
    if (live.count(it->first)) {
      ++it;
      continue;
    }
    if (it->second->queue.size() != 0 || it->second->own.size() != 0) {
      spdlog::error("region: dropping cell {} that still holds {} actions and {} entities (bug)",
                    it->first, it->second->queue.size(), it->second->own.size());
    }
    add_queue_stats(retired_, it->second->queue.stats());  // counters never go down
    it = cells_.erase(it);
  }
}

void RegionPipeline::set_rules(PriorityRules rules) {
  priority_ = std::move(rules);
  for (auto& [id, c] : cells_)
    c->queue.set_rules(priority_);
}

ExpectOutcome RegionPipeline::expect_load(const Rect& area, std::uint32_t load,
                                          std::uint64_t until_tick) {
  // Only recorded here: the tree changes at the next tick's rebalance, where regrid() re-places
  // the entities of the leaves that changed, as after any split.
  const ExpectOutcome out = partition_.expect_load(area, load, until_tick);
  stats_.expectations_held = partition_.expected_loads().size();
  return out;
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
  auto it = placed_.find(id);
  if (it == placed_.end()) return std::nullopt;
  return it->second.home;
}

std::vector<CellId> RegionPipeline::ghost_cells_of(crdt::EntityId id) const {
  auto it = placed_.find(id);
  if (it == placed_.end()) return {};
  const Placement& p = it->second;
  return partition_.ghost_cells(p.pos.x, p.pos.z, options_.ghost_margin, p.home);
}

template <typename F>
void RegionPipeline::for_each_ghost(CellId cell, double x, double z, double r, F&& f) const {
  if (!cells_.count(cell)) return;  // not a leaf
  const Rect& near = partition_.bounds(cell);
  const double margin = options_.ghost_margin;
  thread_local std::vector<CellId> around;  // handlers ask from every worker
  partition_.ghost_cells(x, z, r, cell, around);
  for (CellId n : around) {
    auto it = cells_.find(n);
    if (it == cells_.end()) continue;
    it->second->own.for_each_within(x, z, r, [&](crdt::EntityId id, double ex, double ez) {
      if (near.distance(ex, ez) <= margin) f(id);
    });
  }
}

std::vector<crdt::EntityId> RegionPipeline::ghosts_within(CellId cell, double x, double z,
                                                          double r) const {
  std::vector<crdt::EntityId> out;
  for_each_ghost(cell, x, z, r, [&out](crdt::EntityId id) { out.push_back(id); });
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<CellId> RegionPipeline::home_of(ActorId actor) const {
  auto it = home_.find(actor);
  if (it == home_.end()) return std::nullopt;
  return it->second.cell;
}

bool RegionPipeline::queue_holds(CellId cell, ActorId actor) const {
  auto it = cells_.find(cell);
  if (it == cells_.end()) return false;
  const Cell& c = *it->second;
  return c.queue.holds(actor) ||
         std::any_of(c.arrivals.begin(), c.arrivals.end(), [actor](const auto& arrivals) {
           return std::any_of(arrivals.begin(), arrivals.end(),
                              [actor](const Action& a) { return a.actor == actor; });
         });
}

std::vector<CellReport> RegionPipeline::cells() const {
  std::vector<CellReport> out;
  for (const auto& [id, c] : cells_) {
    std::size_t arrived = 0;
    for (const auto& arrivals : c->arrivals)
      arrived += arrivals.size();
    // Its ghosts: within the margin of its rectangle, so within the margin plus half its
    // diagonal of its centre.
    const Rect& b = partition_.bounds(id);
    std::size_t ghosts = 0;
    for_each_ghost(id, (b.min_x + b.max_x) / 2, (b.min_z + b.max_z) / 2,
                   std::hypot(b.max_x - b.min_x, b.max_z - b.min_z) / 2 + options_.ghost_margin,
                   [&ghosts](crdt::EntityId) { ++ghosts; });
    out.push_back(CellReport{id, partition_.worker_of(id), c->queue.size() + arrived, c->own.size(),
                             ghosts, c->processed});
  }
  return out;
}

void RegionPipeline::cell_loads(std::vector<CellLoad>& out) const {
  out.clear();
  for (const auto& [id, c] : cells_)
    out.push_back(CellLoad{id, c->own.size(), c->processed});
}

void RegionPipeline::add_queue_stats(QueueStats& into, const QueueStats& s) {
  auto add = [](std::vector<std::uint64_t>& to, const std::vector<std::uint64_t>& from) {
    if (to.size() < from.size()) to.resize(from.size(), 0);
    for (std::size_t i = 0; i < from.size(); ++i)
      to[i] += from[i];
  };
  add(into.depth_by_class, s.depth_by_class);
  add(into.processed_by_class, s.processed_by_class);
  add(into.deferred_by_class, s.deferred_by_class);
  add(into.forced_by_class, s.forced_by_class);
  add(into.wait_ticks, s.wait_ticks);
  into.duplicates += s.duplicates;
}

QueueStats RegionPipeline::queue_stats() const {
  QueueStats sum = retired_;
  for (const auto& [id, c] : cells_)
    add_queue_stats(sum, c->queue.stats());
  return sum;
}

}  // namespace worldline::region
