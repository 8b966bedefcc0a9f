// SimNetwork: the deterministic simulations' links (after FoundationDB's sim2): every message is
// delayed by a seeded random time (so messages reorder), dropped or duplicated by chance, and lost
// while its link is cut — also when the cut comes after it was sent. deliver() hands out what is
// due in delivery-time order, so one seed replays exactly. in_flight() is what a transport can tell
// of a link (Outbox::undelivered): a message dropped at sending is never counted, and one lost to a
// cut counts until its delivery time, as a real transport learns of a loss only later.
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
};

class SimNetwork {
 public:
  SimNetwork(std::mt19937_64& rng, SimLinkFaults faults) : rng_(rng), faults_(faults) {}

  void send(ReplicaId from, ReplicaId to, std::string bytes, std::uint64_t now) {
    if (cut_.count({std::min(from, to), std::max(from, to)})) return;
    if (chance(faults_.drop)) return;
    const int copies = chance(faults_.duplicate) ? 2 : 1;
    for (int i = 0; i < copies; ++i) {
      const std::uint64_t at = now + std::uniform_int_distribution<std::uint64_t>(
                                         faults_.min_delay_ms, faults_.max_delay_ms)(rng_);
      queue_.push(InFlight{at, seq_++, from, to, bytes});
      ++in_flight_[{from, to}];
    }
  }

  // Delivers every message due by `now`, in delivery-time order.
  template <class Deliver>
  void deliver(std::uint64_t now, Deliver&& fn) {
    while (!queue_.empty() && queue_.top().at <= now) {
      InFlight m = queue_.top();
      queue_.pop();
      --in_flight_[{m.from, m.to}];
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

 private:
  struct InFlight {
    std::uint64_t at, order;
    ReplicaId from, to;
    std::string bytes;
    bool operator<(const InFlight& o) const {  // min-heap on (at, order)
      return at != o.at ? at > o.at : order > o.order;
    }
  };
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }

  std::mt19937_64& rng_;
  SimLinkFaults faults_;
  std::priority_queue<InFlight> queue_;
  std::uint64_t seq_ = 0;
  std::set<std::pair<ReplicaId, ReplicaId>> cut_;
  std::map<std::pair<ReplicaId, ReplicaId>, std::size_t> in_flight_;  // queued, from → to
};

}  // namespace worldline::testing
