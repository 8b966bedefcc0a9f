// RegionHost: where the gateway's I/O threads meet the region's tick. Sessions attach, submit
// actions and detach from any I/O thread; those calls only append to an inbox under a lock. The
// tick thread (the replica node's thread, which owns the replica) drains the inbox into the
// region pipeline, runs the tick, and — once the tick's delta group is durable — publishes to every
// session its state frame: the entities within its area of interest, the highest seq of its
// actions processed (`ack`), and a reject for each of its actions that was refused.
//
// Attaching a player makes this region its authority: the (epoch, region) register is bumped, and
// the player is spawned if the world has no position for it. The highest processed seq of each
// player is replicated (component `input_seq`), so a client that resumes in another region after a
// failover has its already-applied actions refused as duplicates, never applied twice.
//
// Thread safety: attach/submit/detach from any thread; tick/publish from the tick thread only.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "gateway/protocol.h"
#include "region/pipeline.h"
#include "replica/histogram.h"

namespace worldline::gateway {

// Component ids the host uses (replica::ComponentRegistry::game_defaults()).
inline constexpr replica::ComponentId kAuthorityComponent = 9;
inline constexpr replica::ComponentId kInputSeqComponent = 13;

// Where a session's frames go. Implementations post to the session's own strand, which encodes
// the frame in the session's wire form: deliver() and close() may be called from the tick thread
// and must not block.
class SessionSink {
 public:
  virtual ~SessionSink() = default;
  virtual void deliver(ServerFrame frame) = 0;
  // A tick's frames for the session (its rejects, then its state frame), in order: one hand-off
  // to the session's strand per tick, however many rejects the tick produced.
  virtual void deliver_all(std::vector<ServerFrame> frames) {
    for (ServerFrame& f : frames)
      deliver(std::move(f));
  }
  virtual void close(int code, std::string reason) = 0;
};

struct HostOptions {
  std::string region_name = "region";
  double tick_hz = 20;
  double interest_radius = 60;  // world units around the player
  crdt::Vec3 spawn_point{0, 0, 0};
  // New players appear at a point of this disc around spawn_point, fixed per player id (so a
  // crowd does not start on one spot); 0: all at spawn_point.
  double spawn_radius = 0;
};

struct HostStats {
  std::uint64_t sessions = 0;  // attached now
  std::uint64_t attached_total = 0;
  std::uint64_t actions_received = 0;
  std::uint64_t rejected = 0;
  std::uint64_t state_frames = 0;
  std::uint64_t authority_taken = 0;  // players whose authority moved here
  std::uint64_t claims_lost = 0;      // granted item claims that lost to another region's
  std::uint64_t claims_watched = 0;   // pickups awaiting their outcome, or granted and watched
  // Received by the host → its outcome published, in ms (includes the wait for the tick).
  replica::Histogram ack_ms{{1, 5, 10, 15, 20, 22, 25, 30, 40, 50, 55, 60, 75, 100, 200, 500}};
};

using SessionId = std::uint64_t;

// What a client session needs of the region (RegionHost; a recording fake in the fuzz target).
class RegionPort {
 public:
  virtual ~RegionPort() = default;
  virtual SessionId attach(std::uint64_t player, std::shared_ptr<SessionSink> sink) = 0;
  virtual void submit(SessionId session, int raw_kind, region::Action action,
                      std::uint64_t now_ms) = 0;
  virtual void detach(SessionId session) = 0;
};

class RegionHost final : public RegionPort {
 public:
  // REQUIRES: pipeline and world outlive the host; `world` is the pipeline's replica.
  RegionHost(HostOptions options, region::RegionPipeline& pipeline, region::GameRules& rules,
             replica::Replica& world, crdt::HlcClock& clock);

  // Any thread.
  SessionId attach(std::uint64_t player, std::shared_ptr<SessionSink> sink) override;
  void submit(SessionId session, int raw_kind, region::Action action,
              std::uint64_t now_ms) override;
  void detach(SessionId session) override;

  // Tick thread: drains the inbox, runs one tick (writing into the replica's open group).
  // `steady_ms` times the watch of granted item claims; ingress uses the region's own clock.
  void tick(std::uint64_t tick, std::uint64_t steady_ms);
  // Tick thread, after the group commit: sends every session its state frame and rejects.
  // `steady_ms`: the clock submit() was given (for the ack latency histogram).
  void publish(std::uint64_t steady_ms);

  HostStats stats() const;
  const HostOptions& options() const { return options_; }

 private:
  struct Event {
    enum class Kind { kAttach, kAction, kDetach } kind;
    SessionId session = 0;
    std::uint64_t player = 0;
    std::shared_ptr<SessionSink> sink;
    int raw_kind = 0;
    region::Action action;
    std::uint64_t received_ms = 0;
  };
  struct Session {
    std::uint64_t player = 0;
    std::shared_ptr<SessionSink> sink;
    std::vector<crdt::EntityId> visible;  // in the last state frame, ascending
    std::vector<RejectFrame> pending;     // rejects to send with the next publish
  };
  struct PlayerProgress {
    std::uint64_t processed_seq = 0;                               // highest seq with an outcome
    std::vector<std::pair<std::uint64_t, std::uint64_t>> waiting;  // (seq, received_ms)
  };

  void take_authority(std::uint64_t player);
  // Item claims this region granted can still lose to an earlier claim made in another region
  // (first-claim-wins by HLC, decided when the deltas meet). Each granted claim is watched for a
  // while; if the item's owner turns out to be someone else, the claimer gets a late reject.
  void check_claims(std::uint64_t now_ms,
                    const std::unordered_map<std::uint64_t, SessionId>& session_of);
  std::uint64_t replicated_seq(std::uint64_t player) const;

  HostOptions options_;
  region::RegionPipeline& pipeline_;
  region::GameRules& rules_;
  replica::Replica& world_;
  crdt::HlcClock& clock_;

  mutable std::mutex inbox_mutex_;
  std::vector<Event> inbox_;    // GUARDED_BY(inbox_mutex_)
  SessionId next_session_ = 1;  // GUARDED_BY(inbox_mutex_)
  std::uint64_t received_ = 0;  // GUARDED_BY(inbox_mutex_)

  // Tick thread only.
  std::unordered_map<SessionId, Session> sessions_;
  std::unordered_map<std::uint64_t, PlayerProgress> progress_;
  struct Claim {
    std::uint64_t player, seq;
    crdt::EntityId item;
    std::uint64_t until_ms;  // watched until then
  };
  std::map<std::pair<std::uint64_t, std::uint64_t>, crdt::EntityId> claiming_;  // (player, seq)
  std::vector<Claim> granted_;
  std::uint64_t tick_ = 0;
  mutable std::mutex stats_mutex_;
  HostStats stats_;  // GUARDED_BY(stats_mutex_), written by the tick thread
};

}  // namespace worldline::gateway
