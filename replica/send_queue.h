// SendQueue: what one peer link holds of the messages its replica sends that peer — handed to the
// RPC session and not answered yet (in flight), or waiting — and the rules for what goes out next.
// ReplicaNode (rpc_node.cc) keeps one per peer and uses it on the node's thread; it does no I/O,
// so the rules are tested alone (tests/replica/send_queue_test.cc).
//
// Two lanes, each with a window of its own:
//  - parts of delta transmissions (bulk): at most `parts_in_flight` unanswered, the rest wait in
//    order, so a transmission of more parts than the window still goes out whole as answers come
//    back. A part of another transmission supersedes the parts still waiting: they are dropped and
//    counted. That is safe: the peer starts a new assembly on the newer transmission
//    (Replica::on_delta) and would never have completed the older one with them; what it joined
//    of the older one stays joined, and nothing of it is acknowledged. So at most one
//    transmission's parts wait, however often the replica sends.
//  - everything else (acks, heartbeats, digests, digest requests, fetch replies): waiting control
//    messages go out before waiting parts, within a window of their own, so an ack is never
//    queued behind a backlog of parts (it still follows at most a window of parts on the wire).
//
// Invariants: every message handed to push() ends as exactly one of answered, failed (its
// delivery failed, or its session ended before an answer), superseded, or dropped (over a
// lane's waiting budget, or waiting when its session ended); waiting parts all belong to one
// transmission.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>

namespace worldline::replica {

// A SendQueue's windows and budgets.
struct SendLimits {
  std::size_t parts_in_flight = 64;
  std::size_t control_in_flight = 16;
  // Bytes that may wait in each lane; past it a message is dropped (the resend rule sends
  // again what is not acknowledged). A transmission whose parts beyond the window exceed this
  // never completes.
  std::size_t parts_waiting_bytes = std::size_t{256} << 20;
  std::size_t control_waiting_bytes = std::size_t{64} << 20;
};

class SendQueue {
 public:
  struct Message {
    std::uint64_t transmission = 0;  // 0: a control message; else a part of this transmission
    std::string bytes;
    bool part() const { return transmission != 0; }
  };
  struct Counts {
    std::uint64_t answered = 0, failed = 0, superseded = 0, dropped = 0;
  };

  explicit SendQueue(SendLimits limits = SendLimits{}) : limits_(limits) {}

  // Queues a message to go out once next() returns it. A part of another transmission than the
  // parts waiting supersedes them.
  void push(Message m);
  // The next message that may be handed to the session now — waiting control messages first —
  // counted in flight from here; nullopt when nothing waits or its lane's window is full.
  std::optional<Message> next();
  // The session answered (or failed) one delivery of a message that next() returned.
  // REQUIRES: such a delivery is in flight in that lane.
  void answered(bool part);
  void failed(bool part);
  // The session ended: what waits is dropped, what is in flight failed (both counted).
  void reset();
  // A message that had no session to go to.
  void count_dropped() { ++counts_.dropped; }

  // In flight or waiting: what the peer has not taken in yet.
  std::size_t undelivered() const {
    return parts_in_flight_ + control_in_flight_ + parts_.size() + control_.size();
  }
  std::size_t parts_waiting() const { return parts_.size(); }
  std::size_t control_waiting() const { return control_.size(); }
  std::size_t in_flight() const { return parts_in_flight_ + control_in_flight_; }
  const Counts& counts() const { return counts_; }

 private:
  SendLimits limits_;
  std::deque<Message> parts_, control_;
  std::size_t parts_bytes_ = 0, control_bytes_ = 0;
  std::size_t parts_in_flight_ = 0, control_in_flight_ = 0;
  Counts counts_;
};

}  // namespace worldline::replica
