// Cell and CellTable: a leaf's queue, world view, interest grid and clock, and the table that
// makes and drops them as the partition's leaves come and go.
#include "region/cell.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

namespace worldline::region {

Cell::Cell(CellId id_, const PriorityRules& rules, const replica::Store& store,
           replica::ReplicaId region, double bucket, int workers,
           const crdt::HlcClock& region_clock)
    : id(id_),
      clock(region_clock.node(), region_clock.physical(), region_clock.max_skew_ms()),
      arrivals(static_cast<std::size_t>(workers)),
      queue(rules),
      world(store, region),
      own(bucket) {
  clock.catch_up(region_clock.last());
}

void Cell::queue_arrivals(std::uint64_t for_tick) {
  for (auto& list : arrivals) {
    for (Action& a : list) {
      const ActorId actor = a.actor;
      const std::uint64_t seq = a.client_seq;
      if (!queue.push(std::move(a), for_tick)) {
        spdlog::error("region: arrival {} of actor {} refused by cell {}'s queue (bug)", seq, actor,
                      id);
      }
    }
    list.clear();
  }
}

bool Cell::holds(ActorId actor) const {
  return queue.holds(actor) ||
         std::any_of(arrivals.begin(), arrivals.end(), [actor](const auto& list) {
           return std::any_of(list.begin(), list.end(),
                              [actor](const Action& a) { return a.actor == actor; });
         });
}

std::size_t Cell::arrived() const {
  std::size_t n = 0;
  for (const auto& list : arrivals)
    n += list.size();
  return n;
}

namespace {

void add_queue_stats(QueueStats& into, const QueueStats& s) {
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

}  // namespace

CellTable::CellTable(PriorityRules rules, const replica::Store& store, replica::ReplicaId region,
                     double bucket, int workers, const crdt::HlcClock& region_clock)
    : rules_(std::move(rules)),
      store_(store),
      region_(region),
      bucket_(bucket),
      workers_(workers),
      region_clock_(region_clock) {}

Cell& CellTable::operator[](CellId id) {
  auto it = cells_.find(id);
  if (it == cells_.end()) {
    it = cells_
             .emplace(id, std::make_unique<Cell>(id, rules_, store_, region_, bucket_, workers_,
                                                 region_clock_))
             .first;
  }
  return *it->second;
}

void CellTable::set_rules(PriorityRules rules) {
  rules_ = std::move(rules);
  for (auto& [id, c] : cells_)
    c->queue.set_rules(rules_);
}

void CellTable::drop_all_but(const std::vector<CellId>& leaves) {
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

QueueStats CellTable::queue_stats() const {
  QueueStats sum = retired_;
  for (const auto& [id, c] : cells_)
    add_queue_stats(sum, c->queue.stats());
  return sum;
}

}  // namespace worldline::region
