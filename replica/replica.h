// Replica: one region's copy of the world and the delta-interval anti-entropy protocol that keeps
// it converging with its peers (Almeida, Shoker, Baquero, "Delta State Replicated Data Types",
// 2018, Algorithm 2 — the causal variant, which re-buffers received deltas so they travel on).
//
// Local writes mutate the Store and gather into an open delta group; commit() makes the group
// durable in the Journal, numbers it and buffers it. gossip() sends each peer the join of the
// groups it has not acknowledged, split into parts of bounded size (never dropped for size). A peer
// behind the buffer's horizon is first asked for its per-key digest and then sent only the keys
// whose values differ; a recovering peer volunteers its digest; a resync request gets everything.
// A peer acknowledges a sequence number once it has joined and journaled every part of one
// transmission and refused none of its entries (it asks for a state diff instead); the buffer
// drops what every peer acknowledged.
//
// The class does no I/O of its own: the transport (Cap'n Proto RPC, or the simulator's links)
// calls receive() and gives it an Outbox; time comes in as arguments. It is owned by one thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "crdt/hlc.h"
#include "replica/failure_detector.h"
#include "replica/histogram.h"
#include "replica/journal.h"
#include "replica/messages.h"
#include "replica/store.h"

namespace worldline::replica {

class Outbox {
 public:
  virtual ~Outbox() = default;
  virtual void send(ReplicaId to, std::string bytes) = 0;
  // How many messages handed to send() for `to` the peer has not taken in yet (still queued, on
  // the wire, or being received), as far as the transport can tell; 0 if it cannot. gossip()
  // does not send an interval again while its previous sending is still on its way: the copy
  // would queue behind the original, and a large interval's parts take the peer longer than
  // retransmit_ms to join (see Replica::gossip).
  virtual std::size_t undelivered(ReplicaId to) const {
    (void)to;
    return 0;
  }
  // A part of delta transmission `transmission` (the sender's number for one sending to `to`,
  // from 1, never reused by this replica). A transport that queues may drop the parts of an
  // older transmission still waiting when a newer one comes: the peer starts a new assembly on
  // the newer one (Replica::on_delta), so they could no longer complete the older.
  virtual void send_part(ReplicaId to, std::string bytes, std::uint64_t transmission) {
    (void)transmission;
    send(to, std::move(bytes));
  }
  // How many parts handed to send_part() for `to` still wait to go out (behind the transport's
  // window, not yet on the wire); 0 if none or it cannot tell. While some do, gossip() builds no
  // new transmission for `to` unless the peer acknowledged more since the last one was built
  // (see Replica::gossip).
  virtual std::size_t parts_waiting(ReplicaId to) const {
    (void)to;
    return 0;
  }
};

struct ReplicaOptions {
  ReplicaId id = 0;
  std::vector<ReplicaId> peers;
  std::size_t max_batch_bytes = 256 * 1024;  // one message's entries, encoded
  std::size_t max_buffer_groups = 8192;      // past this, a laggard gets a digest diff
  // Resend an unacknowledged interval this long after its previous sending was taken in by the
  // peer (Outbox::undelivered), or after it was sent if the transport cannot tell.
  std::uint64_t retransmit_ms = 500;
};

struct PeerStats {
  std::uint64_t acked = 0;       // the peer has joined our groups below this
  std::uint64_t lag_groups = 0;  // next_seq - acked
  std::uint64_t lag_ms = 0;      // age of the oldest group it has not acknowledged
  bool up = false;
  double phi = 0;
  std::uint64_t bytes_sent = 0, bytes_received = 0;
  std::uint64_t full_states_sent = 0;  // whole-state or digest-diff transfers to this peer
  std::uint64_t digest_requests_sent = 0;
  // Its transmissions we did not acknowledge because an entry was refused.
  std::uint64_t refused_intervals = 0;
};

struct ReplicaStats {
  std::uint64_t next_seq = 0;
  std::uint64_t buffer_groups = 0;
  std::uint64_t rejected_entries = 0;
  std::uint64_t rejected_messages = 0;
  std::uint64_t journal_failures = 0;
  std::map<ReplicaId, PeerStats> peers;
  // Commit → acknowledged by every peer, in ms.
  Histogram convergence_ms{{}};
};

class Replica {
 public:
  using Mutator = std::function<std::optional<ComponentValue>(ComponentValue&)>;

  // REQUIRES: registry, journal and outbox outlive the replica.
  Replica(ReplicaOptions options, const ComponentRegistry& registry, Journal& journal,
          Outbox& outbox);

  // Recovery: joins a journal record read back at start and moves next_seq past it.
  void restore(const JournalRecord& record);
  // Remote stamps (LWW writes, first claims) are merged into `clock` as they are joined, so a
  // region whose clock lags stamps its next writes after what it has seen. An entry stamped more
  // than the clock's max skew ahead of its physical time is refused and its interval not
  // acknowledged: it joins when retransmitted once our time is within the skew of it, and one
  // peer's broken clock neither drags ours forward nor pins a register far in the future.
  // REQUIRES: `clock` outlives the replica and is used on the replica's thread only.
  void set_clock(crdt::HlcClock* clock) { clock_ = clock; }
  // Recovery: moves next_seq to at least `next_seq` (Recovery::next_seq, the journal's high-water
  // mark), so no seq is numbered twice even when the newest records were quarantined.
  void restore_next_seq(std::uint64_t next_seq) { next_seq_ = std::max(next_seq_, next_seq); }

  // Applies a local mutation to the store and adds its delta to the open group. Returns whether
  // the mutator produced a delta (false: it refused, nothing changed). Refused with an error while
  // repairing() (see request_resync()).
  crdt::Result<bool> write(const Key& key, const Mutator& mutate);
  // A local write whose result was computed elsewhere: `value` is the stored value joined with
  // `delta` (a region cell ran its mutators on a private copy during the tick).
  struct PreparedWrite {
    Key key;
    ComponentValue value;
    ComponentValue delta;
  };
  // Stores prepared writes and adds their deltas to the open group, as write() would have. On
  // the commit parallelism's threads (the writes split evenly, whatever their batches): values of
  // keys already stored are moved in, and each batch's deltas become one list of the open group;
  // new keys and the change list here. `note_changes` false: the keys stay off the change list
  // (the caller knows what it wrote). REQUIRES: no key twice, every component known, no write to
  // these keys since their values were read. The batches' values and deltas are moved from: the
  // caller clears them (a region's workers do, each its own cells'). REQUIRES: !repairing()
  // (throws std::logic_error otherwise: the caller's fence is broken).
  void write_prepared(const std::vector<std::vector<PreparedWrite>*>& batches,
                      bool note_changes = true);
  // Makes the open group durable and numbers it. Returns the sequence number given to it, or
  // nullopt when the group was empty. On a journal failure the group stays open and the error is
  // returned: nothing in it may be acknowledged.
  crdt::Result<std::optional<std::uint64_t>> commit(std::uint64_t now_ms);
  // Lends commit() and write_prepared() threads to encode a large group, or store a tick's
  // writes, with (the region's workers, idle between ticks). Empty: all on the caller's thread.
  // REQUIRES: `parallel` may be called from the thread that calls commit(), and stays valid until
  // replaced.
  void set_commit_parallelism(ParallelFor parallel) { parallel_ = std::move(parallel); }

  // Sends every peer what it is missing (or a heartbeat).
  void gossip(std::uint64_t now_ms);
  // Handles one encoded GossipMessage from an authenticated peer. Malformed or unexpected
  // messages are counted and dropped; returns false for those so a transport can drop the link.
  bool receive(ReplicaId from, std::string_view bytes, std::uint64_t now_ms);
  // After losing local state to corruption: sends every peer this replica's per-key digest, and
  // each answers with the keys where its value differs (a digest-based diff).
  //
  // It also fences local writes until every peer has answered. The lost records may hold this
  // replica's own writes, which peers saw: the dots (id, n) it issued and its counter totals. A
  // write made from the state read back would issue the same dot again (an OR-set add then
  // meets the old element's dot in the peer's context: both elements vanish) or restart its
  // GCounter/PNCounter/bounded-counter entry lower (the join keeps the old maximum: the new
  // increments or spends are lost). Once a peer's state diff is joined whole (all its parts,
  // acknowledged), our state covers everything that peer saw of ours. So repairing() holds until
  // every configured peer's answer arrived; calling this again while repairing re-sends the
  // digest to the peers still awaited (a message to a peer that was down is lost). A peer that
  // never answers holds the fence: see docs/replica.md, "Recovery".
  void request_resync();
  // True from request_resync() until every peer's state diff was joined: write() refuses, and
  // the node runs no region tick.
  bool repairing() const { return !awaiting_repair_.empty(); }
  // Joins the bounded counters a journal replay could not (restore()), once the repair is done,
  // into the open group; those still invalid are dropped, logged. Called when the last peer's
  // state arrives; the node loop calls it after a recovery that needs no repair.
  void rejoin_replay_held();
  const std::set<ReplicaId>& awaiting_repair() const { return awaiting_repair_; }
  // Asks every peer for these keys (e.g. quarantined snapshot entries).
  void request_keys(const std::vector<Key>& keys);

  const Store& store() const { return store_; }
  // Keys whose value changed — by a local write() or a peer's delta — since the last call, in
  // order, possibly repeated: how the region learns of entities moved by other regions or spawned
  // outside its tick. Recorded only once watch_changes() was called, so a replica nobody drains
  // keeps no such list.
  void watch_changes() { watching_ = true; }
  std::vector<Key> take_changes();
  std::uint64_t next_seq() const { return next_seq_; }
  ReplicaId id() const { return options_.id; }
  // The configured peers (every other region of the deployment).
  const std::vector<ReplicaId>& peers() const { return options_.peers; }
  ReplicaStats stats(std::uint64_t now_ms) const;
  // How long nothing has been heard from `peer` (ms); max() for a peer never heard from or not
  // configured.
  std::uint64_t peer_silent_ms(ReplicaId peer, std::uint64_t now_ms) const {
    auto it = peers_.find(peer);
    if (it == peers_.end() || !it->second.detector.ever_heard()) {
      return std::numeric_limits<std::uint64_t>::max();
    }
    return now_ms - std::min(now_ms, it->second.detector.last_heard_ms());
  }

 private:
  struct Buffered {
    std::vector<DeltaList> group;  // a key may be in two lists (see DeltaList)
    std::uint64_t committed_ms = 0;
    ReplicaId from = 0;  // the peer it was received from (0: written here): never sent back
    std::vector<WireEntry> wire;  // the group encoded once, at journaling, reused by gossip
  };
  // One transmission from a peer (all the parts of one sending of an interval, or one fetch
  // reply), judged as a whole: it is acknowledged only if every part arrived and no entry of any
  // part was refused.
  struct Assembly {
    std::uint64_t seq = 0, transmission = 0;
    std::vector<bool> parts_seen;
    std::uint64_t refused = 0, refused_for_skew = 0;
    std::string first_refusal;
    // Bounded-counter deltas, joined and checked once every part is in: a decrement may arrive
    // before the increment that granted its rights (two lists of one group, two groups of one
    // interval), and only the whole transmission is sure to hold both.
    DeltaGroup held_back;
  };
  struct Peer {
    std::uint64_t acked = 0;
    std::optional<std::uint64_t> last_sent_seq;
    std::uint64_t last_sent_ms = 0;
    std::uint64_t last_sent_from = 0;  // `acked` when the last transmission was built
    PhiAccrualDetector detector;
    std::uint64_t next_transmission = 1;  // our numbering of what we send it
    // The transmission being received from this peer.
    Assembly assembly;
    // When we last asked it for a state diff after refusing part of an interval (rate limit).
    std::optional<std::uint64_t> diff_asked_ms;
    std::uint64_t refused_intervals = 0;
    std::uint64_t bytes_sent = 0, bytes_received = 0, full_states_sent = 0;
    // What the peer holds, per key, when it told us (kDigest); consumed by the next transfer.
    std::optional<std::map<Key, std::uint64_t>> known_digest;
    std::optional<std::uint64_t> digest_requested_ms;
    bool needs_state = false;  // it said it lost state (kDigest, kResync): send a diff
    // What the parts received so far inflated, journaled when the interval is complete. A list,
    // not a map: a key inflated twice is in it twice (a DeltaList allows that), and appending
    // costs less than a hash insert of every key of a large interval.
    DeltaList pending;
    JournalRecord pending_record;
    std::uint64_t digest_requests_sent = 0;
  };

  GossipMessage message(GossipMessage::Kind kind) const;  // from this replica
  void send(ReplicaId to, Peer& peer, const GossipMessage& m);
  void send_batches(ReplicaId to, Peer& peer, std::vector<WireEntry> entries, bool full_state);
  void on_delta(ReplicaId from, Peer& peer, const DeltaBatch& batch, std::uint64_t now_ms);
  // Validates and joins entries into the store; what changed it goes to the peer's pending group
  // (`peer` null: a journal record replayed at start, nothing pending).
  void join_entries(Peer* peer, const std::vector<WireEntry>& entries, Assembly& a);
  void join_held_back(Peer* peer, Assembly& a);
  void refuse(Assembly& a, const crdt::Error& e, bool skew);
  void on_ack(Peer& peer, std::uint64_t seq, std::uint64_t now_ms);
  // Journals and buffers what the peer's pending parts inflated. False if the journal failed.
  bool flush_pending(ReplicaId from, Peer& peer, std::uint64_t now_ms);
  void send_state_diff(ReplicaId to, Peer& peer);
  void collect_garbage(std::uint64_t now_ms);
  std::uint64_t horizon() const;
  void note_change(const Key& key) {
    if (watching_) changes_.push_back(key);
  }

  ReplicaOptions options_;
  ParallelFor parallel_;             // for commit()'s encoding
  crdt::HlcClock* clock_ = nullptr;  // remote stamps merge into it (set_clock)
  Store store_;
  Journal& journal_;
  Outbox& outbox_;
  // The open group: write()'s deltas joined per key, and write_prepared()'s lists as they came.
  DeltaGroup open_;
  std::vector<DeltaList> open_lists_;
  std::uint64_t next_seq_ = 1;  // seq 0 is "nothing": a new peer has acked 0
  std::map<std::uint64_t, Buffered> buffer_;
  std::map<ReplicaId, Peer> peers_;
  std::uint64_t rejected_messages_ = 0;
  std::uint64_t journal_failures_ = 0;
  Histogram convergence_ms_;  // commit → acknowledged by every peer
  bool watching_ = false;
  std::vector<Key> changes_;  // since the last take_changes(), if watching_
  // Peers whose state diff is still awaited after request_resync() (the write fence).
  std::set<ReplicaId> awaiting_repair_;
  DeltaGroup replay_held_;  // bounded counters restore() refused, until rejoin_replay_held()
  // While receive() handles a full-state batch: its sender (an ack sent to it then means its whole
  // diff was joined and journaled). 0 otherwise; replica ids start at 1.
  ReplicaId full_state_from_ = 0;
};

}  // namespace worldline::replica
