// The replica section of a node's TOML configuration, validated at load time. Example (the full
// format is documented in docs/replica.md):
//
//   [replica]
//   id = 1
//   listen = "127.0.0.1:7101"
//   data_dir = "/var/lib/worldline/eu-west"
//   secret = "change me"            # or secret_file = "/etc/worldline/cluster.secret"
//   durability = "local"            # or "replicated:1"
//   [[replica.peers]]
//   id = 2
//   address = "127.0.0.1:7102"
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "crdt/result.h"
#include "replica/messages.h"

namespace worldline::replica {

struct PeerConfig {
  ReplicaId id = 0;
  std::string address;  // host:port
};

struct ReplicaNodeConfig {
  ReplicaId id = 0;
  std::string listen;  // host:port
  std::string data_dir;
  std::string secret;
  std::vector<PeerConfig> peers;
  std::uint64_t tick_ms = 50;  // group commit period
  std::uint64_t gossip_interval_ms = 50;
  std::uint64_t snapshot_every_groups = 2000;
  std::size_t max_batch_bytes = 256 * 1024;
  // LMDB's map size: the most the data directory may hold (journal, snapshot, quarantine). A full
  // map fails the group commit (logged and counted; nothing is acknowledged) until it is raised.
  std::uint64_t map_size_mb = 4096;
  std::uint32_t replicated_k = 0;  // durability "local" = 0, "replicated:k" = k
  // Testing only: hold every outgoing message this long (simulated WAN latency where tc netem
  // is not available). Not read from TOML.
  std::uint64_t link_delay_ms = 0;
};

// Reads and validates `path`; every error names the file and the field.
crdt::Result<ReplicaNodeConfig> load_node_config(const std::string& path);
crdt::Result<ReplicaNodeConfig> parse_node_config(const std::string& toml_text,
                                                  const std::string& source_name);

}  // namespace worldline::replica
