// SimClient: a game client of the whole-node simulation, as docs/protocol.md asks clients to
// behave — actions numbered 1, 2, ... per player; an action's outcome is final only once a state
// frame's `ack` covers it (a reject received before that is what the region said so far); on a
// closed session, a dead region or no ack for too long it reconnects to another region and resends
// every action not yet acknowledged, in order. It records what it was told, so the checker can
// hold the cluster's final state against every acknowledgement.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "gateway/region_host.h"
#include "region/action.h"

namespace worldline::testing {

// Where a region's frames for one session land: a queue the client reads at its next step.
class SimSink final : public gateway::SessionSink {
 public:
  // Called with each state frame as the region hands it out (inside its publish): the moment the
  // ack's promise must already hold.
  using OnState = std::function<void(const gateway::StateFrame&)>;
  explicit SimSink(OnState on_state) : on_state_(std::move(on_state)) {}
  void deliver(gateway::ServerFrame frame) override {
    if (const auto* s = std::get_if<gateway::StateFrame>(&frame)) on_state_(*s);
    frames.push_back(std::move(frame));
  }
  void close(int code, std::string reason) override {
    closed = true;
    close_code = code;
    close_reason = std::move(reason);
  }
  std::deque<gateway::ServerFrame> frames;
  bool closed = false;
  int close_code = 0;
  std::string close_reason;

 private:
  OnState on_state_;
};

enum class Told { kApplied, kRefused, kDuplicate };

struct SentAction {
  region::ActionKind kind = region::ActionKind::kMove;
  crdt::EntityId target = 0;
  crdt::Vec3 position;
  std::set<std::size_t> regions;      // every region it was submitted to
  std::optional<std::string> reject;  // the latest reject's reason, since the latest submission
};

struct FinalAction {
  SentAction sent;
  Told told = Told::kApplied;
  std::size_t acked_by = 0;  // the region whose ack made it final
};

struct SimClient {
  std::uint64_t player = 0;
  std::optional<std::size_t> region;  // attached to
  gateway::SessionId session = 0;
  std::shared_ptr<SimSink> sink;
  std::uint64_t next_seq = 1;
  std::uint64_t seen_tick = 0;  // the newest state frame read on the current session (`seen`)
  std::map<std::uint64_t, SentAction> unacked;
  std::map<std::uint64_t, FinalAction> done;
  std::set<std::uint64_t> told_lost;  // pickups later answered with conflict_lost
  // Sessions it left without a goodbye, which their region may still hold open: a second device
  // of the player's can still send on them.
  struct Stale {
    std::size_t region = 0;
    gateway::SessionId session = 0;
    std::uint64_t incarnation = 0;  // the region's restarts then: a restart ends the session
    std::shared_ptr<SimSink> sink;
  };
  std::vector<Stale> stale;
  std::uint64_t acked = 0;
  std::uint64_t last_progress_ms = 0;  // when the ack last moved (or the session began)
  std::uint64_t reconnect_at_ms = 0;   // detached: when it tries again
  std::optional<crdt::Vec3> position;  // its own entity, as the latest state frame showed it
  std::uint64_t sessions = 0, failovers = 0, abandoned = 0;
};

}  // namespace worldline::testing
