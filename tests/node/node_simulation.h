// The whole-node deterministic simulation (after FoundationDB's simulation testing): three region
// nodes — RegionApp, Replica, a real LmdbJournal on tmpfs, driven by NodeLoop — on a simulated
// clock and network, with simulated clients that act, fail over and resend. One seed chooses
// everything: the links' drops, duplicates and delays, copies of messages arriving seconds late,
// partitions and their heals (rarely a long one, 10–25 s), crashes and
// restarts from the journal, damaged journal records (and players sent to the repairing node at
// once, sometimes with one of its links held cut), clock skew between the nodes, clients that
// move between regions or give up on a silent one while their old session lives on (and a second
// device of the player's that still sends on that old session), and the durability (`local` or
// `replicated:k`).
//
// Checked during the run: every replica acknowledgement (the acknowledging node holds every group
// of the peer below the acknowledged seq); every player ack (the region's journal — and under
// replicated:k, k peers' journals — hold the player's input_seq up to it when it is sent); after a
// restart, everything the node acknowledged is still there; at every tick, no node applies a
// player's action while its authority register names another region. Checked once the run settles
// (links healed, every node up, every action acknowledged): every store equal; every acknowledged
// action's effect present, applied once per region it was sent to and never by a region it was
// not sent to, refused ones never applied; the gold counter equals its applications; every
// acknowledged pickup that lost its item was told `conflict_lost`, and no winner was; each
// player's last acknowledged move is where it stands.
#pragma once

#include <cstdint>
#include <string>

namespace worldline::testing {

struct NodeSimResult {
  bool ok = false;
  std::string detail;  // the first broken invariant
  // Figures of the run.
  std::uint64_t actions = 0, acked = 0, applied_twice = 0, told_lost = 0;
  std::uint64_t crashes = 0, corruptions = 0, failovers = 0, sessions = 0, second_device = 0;
  std::uint64_t messages = 0, acks_checked = 0, player_acks_checked = 0, sim_ms = 0;
  std::uint64_t late_copies = 0, repair_rushes = 0, long_partitions = 0;
  std::uint32_t replicated_k = 0;
};

NodeSimResult run_node_simulation(std::uint64_t seed);

}  // namespace worldline::testing
