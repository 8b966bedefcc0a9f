// SimCluster: whole region nodes — RegionApp (host, pipeline, rules), Replica, a real LmdbJournal
// on tmpfs and the NodeLoop that drives them — wired to a simulated clock and network
// (tests/support/sim_network.h). The simulation calls each node's turn and gossip at their due
// times, delivers the network's messages, crashes a node (everything in memory is gone: the loop,
// the replica, the region; the LMDB directory stays), damages a record in a stopped node's file,
// and restarts it from its journal. It watches what each node makes durable (the journal's append
// observer) and checks every replica acknowledgement as it is sent: the acknowledging node holds
// every group of the peer below the acknowledged seq.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "app/region_app.h"
#include "crdt/hlc.h"
#include "replica/lmdb_journal.h"
#include "replica/node_loop.h"
#include "tests/support/sim_network.h"

namespace worldline::testing {

// What one node made durable, as the journal's observer saw it (kept across crashes: durable is
// durable).
struct DurableView {
  struct Record {
    replica::ReplicaId from = 0;  // the peer whose delta it holds (0: the node's own group)
    replica::JournalRecord record;
  };
  std::vector<Record> records;                           // every group appended, in append order
  std::map<std::uint64_t, std::uint64_t> input_seq;      // player -> highest input_seq journaled
  std::map<std::uint64_t, std::set<std::string>> marks;  // player -> action marks journaled
};

struct SimRegionShape {
  std::uint32_t replicated_k = 0;
  std::int64_t clock_skew_ms = 0;  // the node's wall clock against true time
  std::uint64_t tick_ms = 50;
  std::uint64_t gossip_ms = 50;
  std::uint64_t snapshot_every_groups = 100;
  std::uint64_t retransmit_ms = 200;
  std::size_t max_batch_bytes = 4096;
};

struct SimRegion {
  replica::ReplicaId id = 0;
  std::string dir;  // the LMDB directory, kept across restarts
  SimRegionShape shape;
  crdt::ManualClock wall;
  DurableView durable;
  // Per player: the highest ack a client was sent by this node (checked after each restart).
  std::map<std::uint64_t, std::uint64_t> max_ack_sent;
  std::uint64_t restarts = 0;
  bool up = false;
  bool check_recovery = false;           // restarted: check max_ack_sent once its repair is done
  std::uint64_t acked_by_all = 0;        // at its last crash: every peer acknowledged below this
  std::vector<std::uint64_t> corrupted;  // records damaged while it was down

  class Transport;
  std::unique_ptr<replica::LmdbJournal> journal;
  std::unique_ptr<Transport> transport;
  std::unique_ptr<app::RegionApp> app;
  std::unique_ptr<replica::NodeLoop> loop;
  std::uint64_t next_tick_ms = 0, next_gossip_ms = 0;
};

// The game rules the simulation plays by, on top of the built-in move and pickup:
//   interact — earns one gold (the bounded counter, component 4) and marks "e<seq>@<region>" in
//              the player's buffs (component 7);
//   emote    — spends one gold, if this region's rights cover it, and marks "s<seq>@<region>";
//              refused ("no_gold") otherwise.
// Each application leaves a mark, so the checker counts how often, and where, an action ran.
void install_sim_rules(region::GameRules& rules);
std::string mark(char kind, std::uint64_t seq, replica::ReplicaId region);

class SimCluster {
 public:
  using Violation = std::function<void(std::string)>;

  SimCluster(std::mt19937_64& rng, SimLinkFaults faults, std::vector<SimRegionShape> shapes,
             region::GameConfig game, Violation violation);
  ~SimCluster();

  std::uint64_t now() const { return now_; }
  std::size_t size() const { return regions_.size(); }
  SimRegion& region(std::size_t i) { return *regions_[i]; }
  SimNetwork& net() { return net_; }
  const replica::ComponentRegistry& registry() const { return registry_; }

  // Starts (or restarts from its journal) node i. False if it could not open.
  bool start(std::size_t i);
  // Node i stops as if killed: nothing in memory survives (the clients' sessions of it are the
  // caller's to end).
  void crash(std::size_t i);
  // Flips a byte in the newest journal record of stopped node i that every peer acknowledged
  // (so its content can be repaired from them); false if it holds none.
  bool corrupt_acknowledged_record(std::size_t i);

  // Advances true time to `t`: every running node's turns and gossip due by then, and the
  // network's deliveries, in time order.
  void run_until(std::uint64_t t);

  // Whether every running node's store is the same.
  bool converged() const;
  std::string first_difference() const;
  std::uint64_t acks_checked() const { return acks_checked_; }
  std::uint64_t messages() const { return messages_; }

 private:
  void step_node(SimRegion& r, std::uint64_t t);
  void check_ack(replica::ReplicaId self, replica::ReplicaId to, std::uint64_t seq);
  // Per player whose authority register at r names another region: how many of r's marks it has.
  std::map<std::uint64_t, std::size_t> held_elsewhere(const SimRegion& r) const;
  void check_authority(const SimRegion& r, const std::map<std::uint64_t, std::size_t>& before);
  void observe(SimRegion& r, const replica::JournalRecord& record);

  std::mt19937_64& rng_;
  replica::ComponentRegistry registry_ = replica::ComponentRegistry::game_defaults();
  SimNetwork net_;
  region::GameConfig game_;
  Violation violation_;
  std::vector<std::unique_ptr<SimRegion>> regions_;
  std::uint64_t now_ = 0;
  // (self, peer) -> how many of peer's durable records were already checked as held by self.
  std::map<std::pair<replica::ReplicaId, replica::ReplicaId>, std::size_t> checked_;
  std::uint64_t acks_checked_ = 0, messages_ = 0;
  replica::ReplicaId delivering_from_ = 0;  // the sender of the message being received, or 0
};

// The true time the simulation starts at (Unix ms): client clocks and node wall clocks derive
// from it.
inline constexpr std::uint64_t kSimEpochMs = 1'800'000'000'000;

}  // namespace worldline::testing
