// ReplicaNode: one replica as a process — its LMDB journal, Cap'n Proto RPC over real sockets to
// the peers of its configuration, and the node's loop (NodeLoop: tick, group commit, gossip,
// snapshots) with this node as its transport. Everything runs on the calling thread: the loop
// waits for its next due time inside the KJ event loop, which accepts peers, dials them (with
// exponential backoff), delivers their messages, prints status lines, and catches SIGTERM/SIGINT
// for a graceful stop (final commit and snapshot).
//
// Peers authenticate on the bootstrap capability: challenge() gives a fresh nonce; login() with
// HMAC-SHA256(secret, nonce ‖ replica id) returns the session capability. A wrong proof, a reused
// nonce or an unknown replica id gets an error and nothing else, and is logged. A session that
// delivers a malformed message is cut; the node keeps serving everyone else.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "replica/component.h"
#include "replica/histogram.h"
#include "replica/lmdb_journal.h"
#include "replica/node_config.h"
#include "replica/node_loop.h"

namespace worldline::replica {

class Replica;

// A built-in write generator, for tests, benchmarks and demos of the replica alone. It starts once
// every configured peer has been connected (then keeps going whatever happens to them). For kIds
// it appends "ack <id>" to `log_path` once each write is durable (journaled, and joined by k peers
// under replicated:k).
struct WriteLoad {
  enum class Kind {
    kIds,        // unique ids added to entity 1's guild_members (a growing OR-set)
    kPositions,  // positions of `entities` entities, value (commit ms, write number, 0)
  };
  Kind kind = Kind::kIds;
  std::uint64_t entities = 10'000;  // kPositions
  std::uint64_t rate_per_s = 0;     // 0: no writes
  std::uint64_t count = 0;          // stop after this many
  std::uint64_t incarnation = 0;    // makes ids unique across restarts
  std::string log_path;
};

// What a node knows beyond its Replica's own stats: the journal and the peer links.
struct NodeStats {
  JournalStats journal;
  TickLoopStats loop;
  std::uint64_t auth_failures = 0;        // peer logins refused (wrong secret, unknown id, replay)
  std::uint64_t sessions_cut = 0;         // peer sessions dropped for sending garbage
  std::uint64_t sessions_superseded = 0;  // inbound sessions closed by their peer's next login
  std::uint64_t sends_dropped = 0;        // messages not sent: no session, over the waiting budget,
                                          // or waiting when their session ended
  std::uint64_t sends_superseded = 0;     // delta parts dropped unsent for a newer transmission
  std::uint64_t sends_failed = 0;         // deliveries that failed, or had no answer when their
                                          // session ended (the peer may or may not have them)
  std::uint64_t parts_waiting = 0;        // delta parts waiting for a link's window, now
  std::uint64_t silent_links_dropped = 0;  // links to peers heard from by nothing for too long
};

struct RunOptions {
  WriteLoad load;
  std::uint64_t status_interval_ms = 1000;  // 0: no status lines
  std::uint64_t stop_after_ms = 0;          // 0: run until a signal
  const std::atomic<bool>* stop = nullptr;  // if set, checked at least every tick: stop when true
  // Called on the node's thread after every tick (benchmarks and tests observe the state here),
  // with the time it is called (the tick's end, not its start).
  std::function<void(const Replica&, std::uint64_t steady_ms)> on_tick;
  // Called on the node's thread every tick before the group commit: what it writes goes into this
  // tick's delta group (after the application's tick, when run with one).
  std::function<void(Replica&, std::uint64_t steady_ms)> before_commit;
  // Called right after the group commit: `durable` is false when the journal refused the group
  // (nothing written this tick may be acknowledged).
  std::function<void(const Replica&, bool durable, std::uint64_t steady_ms)> after_commit;
  // If set, refreshed on the node's thread every tick before after_commit (for metrics).
  NodeStats* stats_out = nullptr;
};

class ReplicaNode {
 public:
  ReplicaNode(ReplicaNodeConfig config, const ComponentRegistry& registry);
  ~ReplicaNode();
  ReplicaNode(const ReplicaNode&) = delete;
  ReplicaNode& operator=(const ReplicaNode&) = delete;

  // Recovers from the data directory, then serves until SIGTERM/SIGINT, options.stop or
  // stop_after_ms: the node's loop (NodeLoop) drives the ticks and the gossip, and this node is its
  // transport — the KJ event loop runs while the loop waits for its next due time.
  // Returns a process exit code: 0 after a clean stop, 2 when the data directory or the listen
  // address cannot be used, kExitTickFailed when a tick threw.
  int run(const RunOptions& options);
  // The same with an application on the loop (a region): its tick before each group commit,
  // its after_commit after it; `options`' callbacks and write load run beside it.
  int run(NodeApp& app, const RunOptions& options);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The HMAC-SHA256 proof a peer presents at login.
std::string login_proof(const std::string& secret, const std::string& nonce, ReplicaId replica);

// Milliseconds of the steady clock every node and benchmark in this process shares.
std::uint64_t steady_ms();

// Prints the recovered state of a stopped node's data directory: one line per key.
int inspect_data_dir(const std::string& data_dir, const ComponentRegistry& registry);

}  // namespace worldline::replica
