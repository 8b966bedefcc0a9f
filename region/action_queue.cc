#include "region/action_queue.h"

#include <algorithm>
#include <queue>

namespace worldline::region {

ActionQueue::ActionQueue(PriorityRules rules) : rules_(std::move(rules)) {
  resize_stats();
}

void ActionQueue::set_rules(PriorityRules rules) {
  rules_ = std::move(rules);
  resize_stats();
}

void ActionQueue::resize_stats() {
  const std::size_t n = rules_.classes.size();
  stats_.depth_by_class.assign(n, 0);
  stats_.processed_by_class.resize(n, 0);
  stats_.deferred_by_class.resize(n, 0);
  stats_.forced_by_class.resize(n, 0);
  stats_.wait_ticks.resize(kWaitHistogramSize, 0);
}

bool ActionQueue::ActorQueue::insert(Action&& a) {
  if (pending.empty() || pending.back().client_seq < a.client_seq) {
    pending.push_back(std::move(a));
    return true;
  }
  auto at = std::lower_bound(
      pending.begin(), pending.end(), a.client_seq,
      [](const Action& queued, std::uint64_t seq) { return queued.client_seq < seq; });
  if (at != pending.end() && at->client_seq == a.client_seq) return false;
  pending.insert(at, std::move(a));
  return true;
}

bool ActionQueue::push(Action action, std::uint64_t tick) {
  const ActorId actor = action.actor;
  ActorQueue& q = actors_[actor];
  action.enqueued_tick = tick;
  if (action.client_seq <= q.processed_seq || !q.insert(std::move(action))) {
    ++stats_.duplicates;
    return false;
  }
  ++queued_;
  if (!q.listed) {
    q.listed = true;
    active_.push_back(actor);
  }
  return true;
}

std::uint64_t ActionQueue::processed_seq(ActorId actor) const {
  auto it = actors_.find(actor);
  return it == actors_.end() ? 0 : it->second.processed_seq;
}

std::vector<Action> ActionQueue::take(std::uint64_t tick) {
  std::vector<Action> out;
  out.reserve(queued_);  // at most everything queued: no reallocation moving actions
  std::vector<std::uint32_t> budget(rules_.classes.size());
  for (std::size_t c = 0; c < budget.size(); ++c)
    budget[c] = rules_.classes[c].budget_per_tick;

  struct Head {
    double rank;
    crdt::Hlc stamp;
    ActorId actor;
    bool operator>(const Head& o) const {
      if (rank != o.rank) return rank > o.rank;
      if (stamp != o.stamp) return stamp > o.stamp;
      return actor > o.actor;
    }
  };
  std::priority_queue<Head, std::vector<Head>, std::greater<Head>> heads;
  auto waited = [tick](const Action& a) { return tick - std::min(tick, a.enqueued_tick); };
  auto due = [&](const Action& a) {
    return waited(a) >= rules_.classes[rules_.rank(a.kind)].max_wait_ticks;
  };
  // An actor's head is forced when any of its queued actions is due: the due action cannot be
  // processed before the ones ahead of it, so they are forced along with it.
  auto forced = [&](const ActorQueue& q) {
    return std::any_of(q.pending.begin(), q.pending.end(), due);
  };
  auto push_head = [&](ActorId actor, const ActorQueue& q) {
    const Action& a = q.pending.front();
    heads.push(Head{rules_.rank(a.kind) - static_cast<double>(waited(a)) * rules_.aging_per_tick,
                    a.stamp, actor});
  };
  std::vector<ActorId> listed;
  listed.swap(active_);
  for (ActorId actor : listed) {
    auto it = actors_.find(actor);
    if (it == actors_.end() || !it->second.listed) continue;  // released meanwhile
    it->second.listed = false;
    if (!it->second.pending.empty()) push_head(actor, it->second);
  }
  // Actors whose head waits on another actor's action, by the actor waited on.
  std::unordered_map<ActorId, std::vector<ActorId>> waiting_on;

  while (!heads.empty()) {
    const ActorId actor = heads.top().actor;
    heads.pop();
    ActorQueue& q = actors_.at(actor);
    Action& a = q.pending.front();
    const int c = rules_.rank(a.kind);
    const bool is_forced = forced(q);
    if (a.after && a.after->actor != actor && !is_forced &&
        processed_seq(a.after->actor) < a.after->seq) {
      // Woken when the actor it depends on makes progress this tick. A dependency that never
      // comes (lost, refused) holds the action only until its max wait.
      waiting_on[a.after->actor].push_back(actor);
      continue;
    }
    const bool over_budget = budget[c] == 0;
    if (over_budget && !is_forced) continue;  // deferred: the actor waits for the next tick
    if (over_budget) {
      ++stats_.forced_by_class[c];
    } else {
      --budget[c];
    }
    ++stats_.processed_by_class[c];
    ++stats_.wait_ticks[std::min<std::uint64_t>(waited(a), kWaitHistogramSize - 1)];
    q.processed_seq = std::max(q.processed_seq, a.client_seq);  // mark_processed may be ahead
    out.push_back(std::move(a));
    q.pending.erase(q.pending.begin());  // a few elements at most: cheaper than a list
    --queued_;
    if (!q.pending.empty()) push_head(actor, q);
    if (auto w = waiting_on.find(actor); w != waiting_on.end()) {
      std::vector<ActorId> woken = std::move(w->second);
      waiting_on.erase(w);
      for (ActorId other : woken)
        push_head(other, actors_.at(other));
    }
  }
  // Whatever is left waits for the next tick.
  std::fill(stats_.depth_by_class.begin(), stats_.depth_by_class.end(), 0);
  for (ActorId actor : listed) {
    auto it = actors_.find(actor);
    if (it == actors_.end()) continue;  // released before this tick
    ActorQueue& q = it->second;
    if (q.pending.empty() || q.listed) continue;
    q.listed = true;
    active_.push_back(actor);
    for (const Action& a : q.pending) {
      ++stats_.deferred_by_class[rules_.rank(a.kind)];
      ++stats_.depth_by_class[rules_.rank(a.kind)];
    }
  }
  return out;
}

QueueStats ActionQueue::stats() const {
  return stats_;
}

ActionQueue::ActorState ActionQueue::release(ActorId actor) {
  ActorState out;
  out.actor = actor;
  auto it = actors_.find(actor);
  if (it == actors_.end()) return out;
  out.processed_seq = it->second.processed_seq;
  out.pending = std::move(it->second.pending);
  queued_ -= out.pending.size();
  actors_.erase(it);  // a stale entry in active_ is skipped by take()
  return out;
}

void ActionQueue::adopt(ActorState state) {
  ActorQueue& q = actors_[state.actor];
  q.processed_seq = std::max(q.processed_seq, state.processed_seq);
  for (Action& a : state.pending) {
    if (a.client_seq <= q.processed_seq) continue;  // cannot happen: one queue holds an actor
    if (q.insert(std::move(a))) ++queued_;
  }
  if (!q.pending.empty() && !q.listed) {
    q.listed = true;
    active_.push_back(state.actor);
  }
}

}  // namespace worldline::region
