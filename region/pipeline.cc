// RegionPipeline: a tick's phases on the workers and the coordinator's steps between them
// (region/pipeline.h has the whole story); the parts they move are in their own files.
#include "region/pipeline.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <tuple>

namespace worldline::region {

namespace {

int worker_count(const PartitionOptions& p) {
  return std::max(1, p.workers);
}

PartitionOptions with_workers(PartitionOptions p) {
  p.workers = worker_count(p);
  return p;
}

}  // namespace

RegionPipeline::RegionPipeline(PipelineOptions options, PriorityRules priority, GameRules& rules,
                               replica::Replica& world, crdt::HlcClock& clock)
    : options_(options),
      partition_(with_workers(options.partition)),
      rules_(rules),
      world_(world),
      clock_(clock),
      ingress_(options.limits, clock),
      workers_(worker_count(options.partition), options.worker_spin),
      cells_(std::move(priority), world.store(), world.id(), options.interest_bucket,
             workers_.size(), clock),
      placements_(partition_, cells_, workers_),
      ghosts_(cells_, partition_, options.ghost_margin),
      router_(cells_, placements_, ingress_),
      handovers_(workers_.size(), router_.homes(), cells_, placements_),
      forwards_(workers_.size()) {
  for (int w = 0; w < workers_.size(); ++w)
    worker_latency_.emplace_back(stats_.latency_ms.bounds());
  for (CellId leaf : partition_.leaves())
    (void)cells_[leaf];
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
    if (key.component == kPositionComponent && placements_.place(key.entity, world_)) {
      handovers_.note(key.entity);
    }
  }
  (void)world_.take_changes();  // everything there is has just been placed
}

RegionPipeline::~RegionPipeline() = default;

std::optional<Reject> RegionPipeline::submit(int raw_kind, Action action, std::uint64_t now_ms) {
  if (auto reject = ingress_.admit(raw_kind, action, now_ms)) return reject;
  return router_.route(std::move(action), stats_.ticks + 1);
}

std::vector<RegionPipeline::Rejected> RegionPipeline::submit_all(std::vector<Submission>& batch,
                                                                 std::uint64_t now_ms) {
  std::vector<Rejected> out;
  const auto k = static_cast<std::size_t>(workers_.size());
  const std::uint64_t next_tick = stats_.ticks + 1;
  // Below this many, waking the workers costs more than it saves.
  constexpr std::size_t kParallelFrom = 256;
  if (k == 1 || batch.size() < kParallelFrom) {
    for (std::size_t i = 0; i < batch.size(); ++i) {
      Action& a = batch[i].action;
      auto reject = ingress_.admit(batch[i].raw_kind, a, now_ms);
      if (!reject) reject = router_.route(std::move(a), next_tick);
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
  // (a resend, out of order), is left to route() below: inserting into the homes, or pushing
  // into a cell's queue, is not for the workers. An actor's later actions follow its first into
  // that path (a new actor's find keeps failing until then), so its order holds.
  std::vector<std::vector<std::uint32_t>> left(k);
  workers_.run([&](int w) {
    const auto i = static_cast<std::size_t>(w);
    for (std::uint32_t b : share[i]) {
      if (!router_.route_on_worker(batch[b].action, w)) left[i].push_back(b);
    }
  });
  std::vector<std::uint32_t> rest;
  for (const auto& l : left)
    rest.insert(rest.end(), l.begin(), l.end());
  std::sort(rest.begin(), rest.end());  // submission order
  const auto admitted_rejects = static_cast<std::ptrdiff_t>(out.size());
  for (std::uint32_t b : rest) {
    if (auto reject = router_.route(std::move(batch[b].action), next_tick))
      out.push_back(Rejected{b, std::move(*reject)});
  }
  std::inplace_merge(out.begin(), out.begin() + admitted_rejects, out.end(),
                     [](const Rejected& x, const Rejected& y) { return x.index < y.index; });
  return out;
}

void RegionPipeline::mark_processed(ActorId actor, std::uint64_t seq) {
  router_.mark_processed(actor, seq, stats_.ticks + 1);
}

std::size_t RegionPipeline::drop_pending(ActorId actor) {
  return router_.drop_pending(actor, stats_.ticks + 1);
}

void RegionPipeline::run_cells(const CellsByWorker& mine,
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

  const CellsByWorker mine = start_cells();
  // Phase 1: every cell's own queue.
  run_cells(mine, [&](Cell& c, int w) {
    c.queue_arrivals(tick);
    run_own_actions(c, w, tick, worker_latency_[static_cast<std::size_t>(w)]);
  });
  split(phases.own_actions_ms);
  // Phase 2: interactions across cells, resolved by the target's cell in stamp order — each
  // worker first takes those forwarded to its cells into their inboxes.
  const std::size_t forwarded = forwards_.size();
  stats_.forwarded += forwarded;
  if (forwarded > 0) {
    workers_.run([&](int w) {
      forwards_.drain(w, [this](std::pair<CellId, Action>& f) {
        cells_.at(f.first).inbox.push_back(std::move(f.second));
      });
    });
    run_cells(mine, [&](Cell& c, int) { run_forwarded(c, tick); });
  }
  split(phases.forwarded_ms);
  // Phases 3 and 4: what the handlers moved, re-placed on the workers.
  std::vector<Outcome> out = place_steps(mine);
  double place_ms = 0;
  split(place_ms);

  // Tick boundary, on this thread: deltas into the replica, clocks in step.
  const std::uint64_t processed = flush(mine);
  split(phases.flush_ms);
  step_clocks();

  // Re-place what moved otherwise (across or near an edge), report loads, rebalance, hand actors
  // over.
  for (auto& [id, c] : cells_) {
    for (const auto& [entity, pos] : c->moved) {
      if (placements_.place_at(entity, pos)) handovers_.note(entity);
    }
    c->moved.clear();
  }
  split(phases.place_ms);
  phases.place_ms += place_ms;
  rebalance(tick);
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
    if (placements_.place(key.entity, world_)) handovers_.note(key.entity);
    ++stats_.remote_moves;
  }
}

RegionPipeline::CellsByWorker RegionPipeline::start_cells() {
  CellsByWorker mine(static_cast<std::size_t>(workers_.size()));
  for (auto& [id, c] : cells_) {
    c->processed = 0;
    c->resolved = 0;
    // The region's clock may have moved between ticks (ingress stamps, peers' stamps merged on
    // join): every cell stamps after it.
    c->clock.catch_up(clock_.last());
    mine[static_cast<std::size_t>(partition_.worker_of(id))].push_back(c.get());
  }
  return mine;
}

void RegionPipeline::run_own_actions(Cell& c, int worker, std::uint64_t tick,
                                     replica::Histogram& latency_ms) {
  crdt::HlcClock& clock = c.clock;
  const CellGhosts ghosts(ghosts_, c.id);
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
        const CellId target_cell = placements_.owner_cell(a.target);
        if (target_cell != c.id) {  // the target's owner decides, in phase 2
          forwards_.post(worker, partition_.worker_of(target_cell), target_cell, std::move(a));
          continue;
        }
      }
      o = rule.on_target(a, ctx);
    }
    c.outcomes.push_back(std::move(o));
  }
}

void RegionPipeline::run_forwarded(Cell& c, std::uint64_t tick) {
  crdt::HlcClock& clock = c.clock;
  // In stamp order: the same outcome whatever cell or worker each interaction came from.
  std::sort(c.inbox.begin(), c.inbox.end(), [](const Action& a, const Action& b) {
    return std::tie(a.stamp, a.actor, a.client_seq) < std::tie(b.stamp, b.actor, b.client_seq);
  });
  const CellGhosts ghosts(ghosts_, c.id);
  HandlerContext ctx{c.world, clock, tick, &c.own, &ghosts};
  for (const Action& a : c.inbox)
    c.forwarded_outcomes.push_back(rules_.rule(a.kind).on_target(a, ctx));
  c.resolved = c.inbox.size();
  c.inbox.clear();
}

std::vector<Outcome> RegionPipeline::place_steps(const CellsByWorker& mine) {
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
  // that makes to other cells' grids and queues, by the workers owning those cells.
  workers_.run([&](int w) {
    for (Cell* c : mine[static_cast<std::size_t>(w)]) {
      std::move(c->outcomes.begin(), c->outcomes.end(),
                out.begin() + static_cast<std::ptrdiff_t>(c->outcomes_at));
      c->outcomes.clear();
      std::move(c->forwarded_outcomes.begin(), c->forwarded_outcomes.end(),
                out.begin() + static_cast<std::ptrdiff_t>(c->forwarded_outcomes_at));
      c->forwarded_outcomes.clear();
      place_own_steps(*c, w);
    }
  });
  const std::size_t handed_over = handovers_.in_flight();
  if (handed_over > 0 || placements_.requested_inserts() > 0) {
    workers_.run([&](int w) {
      placements_.make_requested_inserts(w);
      handovers_.adopt(w);
    });
  }
  stats_.handovers += handed_over;
  handovers_.gather();
  return out;
}

void RegionPipeline::place_own_steps(Cell& c, int worker) {
  c.world.for_each_written([&](const replica::Key& key, const replica::ComponentValue& v) {
    if (key.component != kPositionComponent) return;
    const auto& position = std::get<crdt::Position>(v);
    if (!position.has_value()) return;
    // Workers share the placements read-only (no insertion or erasure until the coordinator's
    // turn); an entity standing in this cell is this worker's to update.
    Placement* p = placements_.find(key.entity);
    if (!p || p->home != c.id) {
      c.moved.emplace_back(key.entity, position.value());
      return;
    }
    if (placements_.place_entity(key.entity, *p, position.value(), false, worker, &c)) {
      handovers_.crossed(worker, c, key.entity, p->home, partition_.worker_of(p->home));
    }
  });
}

std::uint64_t RegionPipeline::flush(const CellsByWorker& mine) {
  std::uint64_t processed = 0;
  std::vector<std::vector<replica::Replica::PreparedWrite>*> writes;
  writes.reserve(cells_.size());
  for (auto& [id, c] : cells_) {
    writes.push_back(c->world.writes());
    processed += c->processed;
  }
  // Values on the workers, the open group here. The change list would name exactly this tick's
  // writes, which phase 3 and the coordinator (tick()) re-place: it is left out of it.
  world_.write_prepared(writes, /*note_changes=*/false);
  workers_.run([&](int w) {  // the moved-from writes, destroyed by their cells' workers
    for (Cell* c : mine[static_cast<std::size_t>(w)])
      c->world.forget_writes();
  });
  stats_.processed += processed;
  return processed;
}

void RegionPipeline::step_clocks() {
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
}

void RegionPipeline::rebalance(std::uint64_t tick) {
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
  if (stats_.last_rebalance.splits > 0 || stats_.last_rebalance.merges > 0) {
    ++stats_.regrids;
    placements_.regrid(before);
    handovers_.note_all();
  }
  stats_.handovers += handovers_.rehome();
  // Cells that are no longer leaves are empty now (their actors were handed over, their deltas
  // flushed, their entities re-placed): dropped.
  cells_.drop_all_but(partition_.leaves());
}

void RegionPipeline::set_rules(PriorityRules rules) {
  cells_.set_rules(std::move(rules));
}

ExpectOutcome RegionPipeline::expect_load(const Rect& area, std::uint32_t load,
                                          std::uint64_t until_tick) {
  // Only recorded here: the tree changes at the next tick's rebalance, where regrid() re-places
  // the entities of the leaves that changed, as after any split.
  const ExpectOutcome out = partition_.expect_load(area, load, until_tick);
  stats_.expectations_held = partition_.expected_loads().size();
  return out;
}

}  // namespace worldline::region
