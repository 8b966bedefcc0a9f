// NodeLoop: the main loop of one node — it owns the clock's schedule and drives, every tick,
// the application's tick → the replica's group commit → the application's publishing, and every
// gossip interval the repair bookkeeping and the gossip. The Replica is state and protocol; the
// Transport (Cap'n Proto RPC over sockets in a real node, simulated links in the deterministic
// simulation) carries its messages and hands the loop its time. So a whole node — region,
// replica, journal — runs the same code under an injected clock, network and disk
// (tests/node/node_simulation_test.cc), and every invariant of an acknowledgement can be checked
// during a simulated run.
//
// Recovery (open()): the journal's snapshot and tail are read back into a new Replica; if any
// record was quarantined (or a repair was left unfinished), the repair starts: durably marked in
// the journal first, then every peer is asked for its state (Replica::request_resync()), and no
// local write happens — the application's tick is not called — until each peer's state diff is
// joined (docs/replica.md, "Recovery").
//
// Thread safety: one thread (the transport's and the replica's).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crdt/result.h"
#include "replica/histogram.h"
#include "replica/lmdb_journal.h"
#include "replica/replica.h"

namespace worldline::replica {

// What runs on the node's loop besides replication: a region (its tick and publishing) or the
// replica's built-in write load.
class NodeApp {
 public:
  virtual ~NodeApp() = default;
  // The replica exists (recovered): build what depends on it. false: the node cannot run.
  virtual bool start(Replica& world) {
    (void)world;
    return true;
  }
  // Before the group commit; what it writes goes into this tick's group. Not called while the
  // replica repairs lost state (its write fence).
  virtual void tick(Replica& world, std::uint64_t now_ms) = 0;
  // Right after the group commit. `committed`: the group's seq (nullopt: nothing to commit);
  // `durable` false when the journal refused the group — nothing written since the last durable
  // commit may be acknowledged.
  virtual void after_commit(const Replica& world, bool durable,
                            std::optional<std::uint64_t> committed, std::uint64_t now_ms) = 0;
  // The loop is stopping: the next tick is the last (its group the final commit). What the app
  // still holds for the world (work handed to its own threads) belongs in it.
  virtual void finishing() {}
};

// What the loop needs of the world outside: time, and a network that runs while the loop waits.
class Transport : public Outbox {
 public:
  // The loop's clock, milliseconds (monotonic).
  virtual std::uint64_t now_ms() = 0;
  // Runs the network (delivering received messages to the replica) until `due_ms` or until the
  // node is asked to stop. Returns false when it must stop (a signal, a stop flag).
  virtual bool wait_until(std::uint64_t due_ms) = 0;
  // Every gossip interval, before the gossip (a real transport drops links gone silent).
  virtual void maintain(std::uint64_t now_ms) { (void)now_ms; }
};

struct NodeLoopOptions {
  ReplicaOptions replica;      // id, peers, batch size, buffer, retransmit
  std::uint64_t tick_ms = 50;  // tick k is due at start + k × tick_ms
  std::uint64_t gossip_interval_ms = 50;
  std::uint64_t snapshot_every_groups = 1000;  // 0: only at stop
  std::uint64_t repair_ask_ms = 1000;          // re-ask the peers still awaited, this often
  std::uint64_t stop_after_ms = 0;             // run(): 0 runs until the transport says stop
};

// The tick loop's own timing: tick k is due at start + k × tick period.
struct TickLoopStats {
  std::uint64_t ticks = 0;
  // Ticks whose whole turn (the application's tick, the group commit, publishing) ended after
  // the next tick was due.
  std::uint64_t late = 0;
  std::uint64_t skipped = 0;  // due times passed over when the loop fell a whole period behind
  Histogram turn_ms{{1, 2, 5, 10, 16.7, 25, 50, 100, 200, 500}};  // one tick's whole turn
};

// run()'s exit code when a tick threw (a bug in a handler, a worker or the commit path): the node
// stops rather than gossip on without ticking. EX_SOFTWARE of sysexits.h; docs/node.md.
constexpr int kExitTickFailed = 70;

class NodeLoop {
 public:
  // REQUIRES: registry, journal, transport and app outlive the loop.
  NodeLoop(NodeLoopOptions options, const ComponentRegistry& registry, LmdbJournal& journal,
           Transport& transport, NodeApp& app);
  ~NodeLoop();
  NodeLoop(const NodeLoop&) = delete;
  NodeLoop& operator=(const NodeLoop&) = delete;

  // Recovers the replica from the journal, starts the repair if state was lost, and starts the
  // application. An error when the journal cannot be read or the repair not recorded, or the
  // application refused to start.
  crdt::Result<bool> open();

  // One tick's turn at `now_ms`: the application's tick (unless repairing), the group commit,
  // the application's after_commit, a snapshot every snapshot_every_groups groups. Throws what
  // the application or the commit path threw (run() turns that into kExitTickFailed).
  void turn(std::uint64_t now_ms);
  // One gossip interval: the repair's bookkeeping, the transport's upkeep, the gossip.
  void gossip(std::uint64_t now_ms);
  // At a clean stop: a last turn (a region drains its inbox), then a snapshot.
  void finish(std::uint64_t now_ms);
  // Writes a snapshot now, unless the replica is repairing (a snapshot of a state still lacking
  // what was quarantined would make the loss look whole). Returns whether one was written.
  bool snapshot();

  // open() (unless the caller did), then ticks and gossips on the transport's clock until it says
  // stop (then finish()), stop_after_ms passes, or a tick throws. Returns 0, 2 (open failed) or
  // kExitTickFailed.
  int run();

  Replica& replica() { return *replica_; }
  const Replica& replica() const { return *replica_; }
  const TickLoopStats& loop_stats() const { return loop_; }
  bool repairing() const;

 private:
  NodeLoopOptions options_;
  const ComponentRegistry& registry_;
  LmdbJournal& journal_;
  Transport& transport_;
  NodeApp& app_;
  std::unique_ptr<Replica> replica_;
  std::vector<Key> refetch_;      // quarantined snapshot keys, fetched back by key
  bool repair_recorded_ = false;  // meta/repairing is set in the journal
  std::uint64_t last_repair_ask_ms_ = 0, repair_log_ms_ = 0;
  std::uint64_t groups_since_snapshot_ = 0;
  TickLoopStats loop_;
  std::uint64_t fell_behind_ = 0;  // times the loop skipped due times (logged 1st, 100th, ...)
};

}  // namespace worldline::replica
