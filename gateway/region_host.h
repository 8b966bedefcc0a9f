// RegionHost: where the gateway's I/O threads meet the region's tick. Sessions attach, submit
// actions and detach from any I/O thread; those calls only append to an inbox under a lock. The
// tick thread (the replica node's thread, which owns the replica) drains the inbox into the
// region pipeline, runs the tick, and — once the tick's delta group is durable — publishes to every
// session its state frame: the entities within its area of interest, the highest seq of its
// actions processed (`ack`), and a reject for each of its actions that was refused.
//
// Attaching a player makes this region its authority: the (epoch, region) register is bumped, and
// the player is spawned if the world has no position for it. The register is replicated (max of
// (epoch, region)); a region applies a player's actions only while the register names it. When a
// peer's delta shows another region took the player's authority, the player's sessions here are
// closed at the next tick (error and close code 4013 `authority_moved`) and its actions not yet
// processed are dropped: from then on nothing of that player is applied here until it attaches
// here again (which takes the authority back, epoch + 1). The highest processed seq of each
// player is replicated (component `input_seq`), so a client that resumes in another region after a
// failover has its already-applied actions refused as duplicates, never applied twice.
//
// Thread safety: attach/submit/detach from any thread; tick/publish from the tick thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
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
// Per player: the item claims granted to it and not yet known lost ("<item>:<seq>", a text set).
inline constexpr replica::ComponentId kPendingClaimsComponent = 14;

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
  // The replica's durability: 0 ("local"), an ack goes out once the group holding the outcomes
  // is committed to the journal; k ("replicated:k"), once k peers also acknowledged it.
  std::uint32_t replicated_k = 0;
};

struct HostStats {
  std::uint64_t sessions = 0;  // attached now
  std::uint64_t attached_total = 0;
  std::uint64_t actions_received = 0;
  std::uint64_t rejected = 0;
  std::uint64_t state_frames = 0;
  std::uint64_t authority_taken = 0;  // players whose authority moved here
  std::uint64_t authority_lost = 0;  // players cut here because another region took their authority
  std::uint64_t claims_lost = 0;     // granted item claims that lost to another region's
  std::uint64_t claims_watched = 0;  // pickups submitted and awaiting their outcome
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
  // `steady_ms`: unused (kept for callers); ingress uses the region's own clock.
  void tick(std::uint64_t tick, std::uint64_t steady_ms);
  // Tick thread, after a successful group commit: sends every session its state frame and
  // rejects. A frame's `ack` covers only outcomes whose group is durable under the configured
  // durability (`replicated_k`): under replicated:k the ack waits, tick after tick, until k peers
  // acknowledged the group; the rest of the frame (the world as this region sees it) and the
  // rejects go out at once. REQUIRES: called after every successful commit (not after a failed
  // one). `steady_ms`: the clock submit() was given (for the ack latency histogram).
  void publish(std::uint64_t steady_ms);

  HostStats stats() const;
  const HostOptions& options() const { return options_; }
  // Tick thread: ends every session of `player` here with `error 4014 kicked` (`why` as its
  // message) and a close; the gateway then detaches them as any closed session. Its actions
  // already admitted are processed and their effects made durable as usual, but the acks and
  // state frames published after the close do not reach the closed sessions: the client learns
  // of them when it resumes (a resend of a processed seq is refused as a duplicate, and the ack
  // covers it). It may connect again (a kick is not a ban). Returns the sessions closed.
  std::size_t kick(std::uint64_t player, const std::string& why);

  // The players with a session attached here, ascending (each once). Tick thread only.
  std::vector<std::uint64_t> online_players() const;

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
    // The ticks of the first and the newest state frame sent to it (0: none yet).
    std::uint64_t first_frame_tick = 0, last_frame_tick = 0;
  };
  struct PlayerProgress {
    std::uint64_t processed_seq = 0;  // highest seq with an outcome
    std::uint64_t acked_seq = 0;      // highest seq acknowledged (its group durable)
    // (group, processed_seq) after each commit that changed processed_seq, oldest first: the
    // processed_seq is acknowledged once that group is durable.
    std::deque<std::pair<std::uint64_t, std::uint64_t>> undurable;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> waiting;  // (seq, received_ms)
    // Seqs admitted to the pipeline and not processed yet, and seqs refused at ingress that the
    // ack does not cover yet: a refusal is decided at once, but the ack is cumulative, so it
    // covers a refused seq once every admitted seq below it is processed (advance_past_refusals).
    std::set<std::uint64_t> admitted, refused;
    std::uint32_t sessions = 0;  // of the player's sessions here
  };
  static constexpr std::size_t kMaxUndurablePerPlayer = 64;
  static constexpr std::size_t kMaxTimedPerPlayer = 1024;

  void take_authority(std::uint64_t player);
  // Moves processed_seq over the refusals every earlier admitted action of the player has been
  // decided for (so the last action of a player, refused at ingress, is acknowledged too).
  // Returns whether it moved.
  bool advance_past_refusals(PlayerProgress& p);
  // Whether the player's replicated authority register names this region.
  bool holds_authority(std::uint64_t player) const;
  // Closes the sessions of every player whose authority another region took (known from a peer's
  // delta joined since the last tick), and drops their actions not yet processed.
  void release_moved_authority();
  // Item claims this region granted can still lose to an earlier claim made in another region
  // (first-claim-wins by HLC, decided when the deltas meet, after any partition). A grant is
  // recorded in the player's pending claims (kPendingClaimsComponent: journaled and replicated,
  // so it survives a restart and follows the player to another region). Every tick, each attached
  // player's pending claims are compared with the items' owners; a claim whose item went to
  // someone else gets a late `conflict_lost` reject, once per session of the player, just before
  // that tick's state frame. It leaves the set only when an action from a session it was told on
  // says (`seen`, docs/protocol.md) that the client has read a state frame of that tick or later
  // on that connection — so it read the notice. An action alone proves nothing (it may have been
  // sent before the notice arrived, and the connection lost after); nor does a session that
  // never sends again: the player is told again on its next session, here or in any region — at
  // least once, possibly more; a client that never sends `seen` is told on every new session. A
  // claim the player still owns stays pending: an earlier claim may still arrive.
  void record_grant(std::uint64_t player, crdt::EntityId item, std::uint64_t seq);
  using SessionsOf = std::unordered_map<std::uint64_t, std::vector<SessionId>>;  // per player
  void check_claims(const SessionsOf& session_of);
  // `session` of `player` sent an action saying it has read the state frame of `seen_tick`: the
  // notices told on it before a frame up to that tick reached the client, and their claims leave
  // the player's pending claims (in this tick's group).
  void confirm_told_claims(std::uint64_t player, SessionId session, std::uint64_t seen_tick);
  std::uint64_t replicated_seq(std::uint64_t player) const;
  // Groups below this are durable as the configuration asks (journaled; and under replicated:k,
  // acknowledged by k peers).
  std::uint64_t durable_below(std::uint64_t now_ms) const;

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
  // Pickups submitted and not yet decided: (player, seq) → item. Erased at the outcome, at a
  // refusal at ingress, and when the player's authority moves (its pending actions dropped).
  std::map<std::pair<std::uint64_t, std::uint64_t>, crdt::EntityId> claiming_;
  // Lost claims told and not yet confirmed: (player, element) -> the sessions told, and when.
  struct Told {
    SessionId session;
    std::uint64_t tick;  // of the state frame the notice went out before
  };
  std::map<std::pair<std::uint64_t, std::string>, std::vector<Told>> told_;
  // Players with ingress refusals the ack does not cover yet (PlayerProgress::refused).
  std::set<std::uint64_t> with_refusals_;
  std::uint64_t tick_ = 0;
  // Players whose processed_seq changed since the last publish (the commit in between puts the
  // outcomes into a group), possibly repeated.
  std::vector<std::uint64_t> touched_;
  std::uint64_t next_seq_at_tick_ = 0;  // the replica's next_seq when tick() ended
  std::uint64_t last_group_ = 0;        // the newest group committed by this host's ticks
  mutable std::mutex stats_mutex_;
  HostStats stats_;  // GUARDED_BY(stats_mutex_), written by the tick thread
};

}  // namespace worldline::gateway
