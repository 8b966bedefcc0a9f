// SimNetwork: the deterministic simulations' links (after FoundationDB's sim2): every message is
// delayed by a seeded random time (so messages reorder), dropped or duplicated by chance, and lost
// while its link is cut — also when the cut comes after it was sent. deliver() hands out what is
// due in delivery-time order, so one seed replays exactly. in_flight() is what a transport can tell
// of a link (Outbox::undelivered): a message dropped at sending is never counted, and one lost to a
// cut counts until its delivery time, as a real transport learns of a loss only later.
// A late copy (SimLinkFaults::late) is a copy the network delivers 0.5–3 s later, besides or
// instead of the message, of messages the sender marks (send()'s `may_be_late`: the parts of a
// multi-part transmission, where an old part can mix with a new sending of the same interval). The
// sender's transport never counts it — it could not know of it — so it can arrive after the sender
// moved on. A late copy from or to a node that restarted since it was sent is lost with that
// incarnation's connections (restarted()).
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <utility>

#include "replica/messages.h"

namespace worldline::testing {

using replica::ReplicaId;

struct SimLinkFaults {
  double drop = 0.1;
  double duplicate = 0.05;
  std::uint64_t min_delay_ms = 1;
  std::uint64_t max_delay_ms = 80;  // wide spread: reorders
  // The chance a message sent with may_be_late also arrives again late_min_ms–late_max_ms later —
  // and half of those times, only then (the on-time copy is lost). 0 draws nothing from the random
  // source.
  double late = 0;
  std::uint64_t late_min_ms = 500, late_max_ms = 3'000;
};

class SimNetwork {
 public:
  SimNetwork(std::mt19937_64& rng, SimLinkFaults faults) : rng_(rng), faults_(faults) {}

  void send(ReplicaId from, ReplicaId to, std::string bytes, std::uint64_t now,
            bool may_be_late = false) {
    if (cut_.count({std::min(from, to), std::max(from, to)})) return;
    if (may_be_late && faults_.late > 0 && chance(faults_.late)) {
      const std::uint64_t at = now + std::uniform_int_distribution<std::uint64_t>(
                                         faults_.late_min_ms, faults_.late_max_ms)(rng_);
      queue_.push(InFlight{at, seq_++, from, to, bytes, false, incarnation(from), incarnation(to)});
      ++late_;
      if (chance(0.5)) return;  // only the late copy arrives
    }
    if (chance(faults_.drop)) return;
    const int copies = chance(faults_.duplicate) ? 2 : 1;
    for (int i = 0; i < copies; ++i) {
      const std::uint64_t at = now + std::uniform_int_distribution<std::uint64_t>(
                                         faults_.min_delay_ms, faults_.max_delay_ms)(rng_);
      queue_.push(InFlight{at, seq_++, from, to, bytes, true, 0, 0});
      ++in_flight_[{from, to}];
    }
  }

  // Node `id` restarted: late copies from or to its earlier incarnation are lost.
  void restarted(ReplicaId id) { ++incarnation_[id]; }

  // Delivers every message due by `now`, in delivery-time order.
  template <class Deliver>
  void deliver(std::uint64_t now, Deliver&& fn) {
    while (!queue_.empty() && queue_.top().at <= now) {
      InFlight m = queue_.top();
      queue_.pop();
      if (m.counted) {
        --in_flight_[{m.from, m.to}];
      } else if (m.from_incarnation != incarnation(m.from) ||
                 m.to_incarnation != incarnation(m.to)) {
        continue;  // a late copy of an earlier incarnation's connection
      }
      if (cut_.count({std::min(m.from, m.to), std::max(m.from, m.to)})) continue;  // cut in flight
      fn(m.from, m.to, m.bytes);
    }
  }

  void cut(ReplicaId a, ReplicaId b) { cut_.insert({std::min(a, b), std::max(a, b)}); }
  void heal(ReplicaId a, ReplicaId b) { cut_.erase({std::min(a, b), std::max(a, b)}); }
  bool is_cut(ReplicaId a, ReplicaId b) const {
    return cut_.count({std::min(a, b), std::max(a, b)}) != 0;
  }
  void heal_all() { cut_.clear(); }
  void set_faults(SimLinkFaults f) { faults_ = f; }
  bool idle() const { return queue_.empty(); }
  std::size_t in_flight(ReplicaId from, ReplicaId to) const {
    auto it = in_flight_.find({from, to});
    return it == in_flight_.end() ? 0 : it->second;
  }
  std::uint64_t late_copies() const { return late_; }

 private:
  struct InFlight {
    std::uint64_t at, order;
    ReplicaId from, to;
    std::string bytes;
    bool counted;                                    // by in_flight(): false for a late copy
    std::uint64_t from_incarnation, to_incarnation;  // of a late copy
    bool operator<(const InFlight& o) const {        // min-heap on (at, order)
      return at != o.at ? at > o.at : order > o.order;
    }
  };
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  std::uint64_t incarnation(ReplicaId id) const {
    auto it = incarnation_.find(id);
    return it == incarnation_.end() ? 0 : it->second;
  }

  std::mt19937_64& rng_;
  SimLinkFaults faults_;
  std::priority_queue<InFlight> queue_;
  std::uint64_t seq_ = 0;
  std::set<std::pair<ReplicaId, ReplicaId>> cut_;
  std::map<std::pair<ReplicaId, ReplicaId>, std::size_t> in_flight_;  // queued, from → to
  std::map<ReplicaId, std::uint64_t> incarnation_;                    // restarts per node
  std::uint64_t late_ = 0;                                            // late copies queued
};

}  // namespace worldline::testing
