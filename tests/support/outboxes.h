// Outboxes for tests that run replicas in one process: one that drops every message, one that
// keeps them for the test to deliver, and the delivery loop between two replicas.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "replica/replica.h"

namespace worldline::testing {

struct NullOutbox : replica::Outbox {
  void send(replica::ReplicaId, std::string) override {}
};

class QueueOutbox : public replica::Outbox {
 public:
  void send(replica::ReplicaId to, std::string bytes) override {
    sent.emplace_back(to, std::move(bytes));
  }
  std::vector<std::pair<replica::ReplicaId, std::string>> sent;
};

// `rounds` times: both replicas gossip, and everything each sent is delivered to the other.
inline void exchange(replica::Replica& x, QueueOutbox& x_out, replica::Replica& y,
                     QueueOutbox& y_out, std::uint64_t now_ms, int rounds = 4) {
  for (int round = 0; round < rounds; ++round) {
    x.gossip(now_ms);
    y.gossip(now_ms);
    for (auto [from, out, to] : {std::tuple{&x, &x_out, &y}, std::tuple{&y, &y_out, &x}}) {
      auto sent = std::move(out->sent);
      out->sent.clear();
      for (auto& [id, bytes] : sent)
        to->receive(from->id(), bytes, now_ms);
    }
  }
}

}  // namespace worldline::testing
