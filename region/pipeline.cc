#include "region/pipeline.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <iterator>
#include <set>

namespace worldline::region {

RegionPipeline::RegionPipeline(PartitionOptions partition, PriorityRules priority, GameRules& rules,
                               replica::Replica& world, crdt::HlcClock& clock, IngressLimits limits,
                               double tick_period_ms)
    : partition_(partition),
      priority_(std::move(priority)),
      rules_(rules),
      world_(world),
      clock_(clock),
      ingress_(limits, clock),
      tick_period_ms_(tick_period_ms) {}

CellId RegionPipeline::cell_for(ActorId actor) const {
  const auto p = GameRules::position(world_, actor).value_or(crdt::Vec3{});  // unknown: origin
  return partition_.cell_of(p.x, p.z);
}

ActionQueue& RegionPipeline::queue(CellId cell) {
  auto it = queues_.find(cell);
  if (it == queues_.end()) it = queues_.emplace(cell, ActionQueue(priority_)).first;
  return it->second;
}

std::optional<Reject> RegionPipeline::submit(int raw_kind, Action action, std::uint64_t now_ms) {
  if (auto reject = ingress_.admit(raw_kind, action, now_ms)) return reject;
  auto home = home_.find(action.actor);
  const CellId cell = home != home_.end() ? home->second : cell_for(action.actor);
  home_[action.actor] = cell;
  const ActorId actor = action.actor;
  const std::uint64_t seq = action.client_seq;
  if (!queue(cell).push(std::move(action), stats_.ticks + 1)) {
    ingress_.count(RejectReason::kDuplicate);
    return Reject{RejectReason::kDuplicate, "action " + std::to_string(seq) + " of " +
                                                std::to_string(actor) + " was already received"};
  }
  return std::nullopt;
}

std::vector<Outcome> RegionPipeline::tick(std::uint64_t tick) {
  const auto start = std::chrono::steady_clock::now();
  ++stats_.ticks;
  std::vector<Outcome> out;
  HandlerContext ctx{world_, clock_, tick};
  processed_in_cell_.clear();
  for (auto& [cell, q] : queues_) {
    for (const Action& a : q.take(tick)) {
      out.push_back(rules_.apply(a, ctx));
      ++processed_in_cell_[cell];
    }
  }
  // Tick boundary: loads, rebalance, then every actor to the queue of the leaf it stands in.
  // Each actor's position is read once: it counts for the load and decides the hand-over.
  std::vector<std::pair<ActorId, crdt::Vec3>> positions;
  positions.reserve(home_.size());
  for (const auto& [actor, cell] : home_) {
    positions.emplace_back(actor, GameRules::position(world_, actor).value_or(crdt::Vec3{}));
  }
  std::map<CellId, std::uint64_t> load;
  for (CellId c : partition_.leaves())
    load[c] = 0;
  for (const auto& [actor, p] : positions)
    ++load[partition_.cell_of(p.x, p.z)];
  for (const auto& [cell, n] : processed_in_cell_) {
    if (load.count(cell)) load[cell] += n;
  }
  for (const auto& [cell, l] : load)
    partition_.set_load(cell, l);
  stats_.last_rebalance = partition_.rebalance();
  stats_.splits += stats_.last_rebalance.splits;
  stats_.merges += stats_.last_rebalance.merges;
  const std::uint64_t handovers_before = stats_.handovers;
  rehome_all(positions);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  stats_.tick_ms.record(ms);
  if (ms > tick_period_ms_) {
    ++stats_.overruns;
    spdlog::warn(
        "region tick {} overran: {:.1f} ms > {:.1f} ms period ({} actions in {} cells, "
        "{} hand-overs, {} splits, {} merges)",
        tick, ms, tick_period_ms_, out.size(), processed_in_cell_.size(),
        stats_.handovers - handovers_before, stats_.last_rebalance.splits,
        stats_.last_rebalance.merges);
  }
  return out;
}

void RegionPipeline::rehome_all(const std::vector<std::pair<ActorId, crdt::Vec3>>& positions) {
  for (const auto& [actor, p] : positions) {
    const CellId target = partition_.cell_of(p.x, p.z);
    CellId& home = home_.at(actor);
    if (target == home) continue;
    queue(target).adopt(queue(home).release(actor));
    home = target;
    ++stats_.handovers;
  }
  // Queues of cells that are no longer leaves are empty now: drop them (ids are reused).
  const auto leaves = partition_.leaves();
  const std::set<CellId> live(leaves.begin(), leaves.end());
  for (auto it = queues_.begin(); it != queues_.end();) {
    it = live.count(it->first) ? std::next(it) : queues_.erase(it);
  }
}

void RegionPipeline::set_rules(PriorityRules rules) {
  priority_ = std::move(rules);
  for (auto& [cell, q] : queues_)
    q.set_rules(priority_);
}

std::optional<CellId> RegionPipeline::home_of(ActorId actor) const {
  auto it = home_.find(actor);
  if (it == home_.end()) return std::nullopt;
  return it->second;
}

bool RegionPipeline::queue_holds(CellId cell, ActorId actor) const {
  auto it = queues_.find(cell);
  return it != queues_.end() && it->second.holds(actor);
}

}  // namespace worldline::region
