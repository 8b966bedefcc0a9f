#include "replica/node_config.h"

#include <toml++/toml.h>
#include <fstream>
#include <iterator>
#include <set>

namespace worldline::replica {
namespace {

crdt::Error config_error(const std::string& source, const std::string& what) {
  return crdt::make_error(crdt::ErrorCode::kInvalidArgument, source + ": " + what);
}

}  // namespace

crdt::Result<ReplicaNodeConfig> parse_node_config(const std::string& text,
                                                  const std::string& source) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return config_error(source, std::string("TOML syntax: ") + std::string(e.description()));
  }
  const toml::table* r = root["replica"].as_table();
  if (!r) return config_error(source, "missing [replica] table");
  ReplicaNodeConfig c;
  const auto id = (*r)["id"].value<std::int64_t>();
  if (!id || *id <= 0 || *id > 0xFFFF) return config_error(source, "replica.id must be 1..65535");
  c.id = static_cast<ReplicaId>(*id);
  c.listen = (*r)["listen"].value_or(std::string());
  if (c.listen.find(':') == std::string::npos) {
    return config_error(source, "replica.listen must be host:port");
  }
  c.data_dir = (*r)["data_dir"].value_or(std::string());
  if (c.data_dir.empty()) return config_error(source, "replica.data_dir is required");
  c.secret = (*r)["secret"].value_or(std::string());
  if (auto file = (*r)["secret_file"].value<std::string>()) {
    std::ifstream in(*file);
    if (!in) return config_error(source, "replica.secret_file cannot be read: " + *file);
    c.secret.assign(std::istreambuf_iterator<char>(in), {});
    while (!c.secret.empty() && (c.secret.back() == '\n' || c.secret.back() == '\r')) {
      c.secret.pop_back();
    }
  }
  if (c.secret.size() < 8) {
    return config_error(source, "replica.secret (or secret_file) must be at least 8 characters");
  }
  c.tick_ms = (*r)["tick_ms"].value_or<std::int64_t>(50);
  c.gossip_interval_ms = (*r)["gossip_interval_ms"].value_or<std::int64_t>(50);
  c.snapshot_every_groups = (*r)["snapshot_every_groups"].value_or<std::int64_t>(2000);
  c.max_batch_bytes = (*r)["max_batch_bytes"].value_or<std::int64_t>(256 * 1024);
  if (c.tick_ms == 0 || c.tick_ms > 10'000 || c.gossip_interval_ms == 0 ||
      c.gossip_interval_ms > 60'000) {
    return config_error(source, "replica.tick_ms and gossip_interval_ms must be positive and sane");
  }
  if (c.max_batch_bytes < 1024) return config_error(source, "replica.max_batch_bytes < 1024");
  const std::int64_t map_size_mb = (*r)["map_size_mb"].value_or<std::int64_t>(4096);
  if (map_size_mb < 16 || map_size_mb > (std::int64_t{1} << 24)) {
    return config_error(source, "replica.map_size_mb must be 16..16777216 (MiB), not " +
                                    std::to_string(map_size_mb));
  }
  c.map_size_mb = static_cast<std::uint64_t>(map_size_mb);
  const std::string durability = (*r)["durability"].value_or(std::string("local"));
  if (durability == "local") {
    c.replicated_k = 0;
  } else if (durability.rfind("replicated:", 0) == 0) {
    try {
      c.replicated_k = static_cast<std::uint32_t>(std::stoul(durability.substr(11)));
    } catch (...) {
      return config_error(source, "replica.durability: bad k in '" + durability + "'");
    }
  } else {
    return config_error(source, "replica.durability must be \"local\" or \"replicated:k\", not '" +
                                    durability + "'");
  }
  std::set<ReplicaId> seen{c.id};
  if (const toml::array* peers = (*r)["peers"].as_array()) {
    for (const auto& p : *peers) {
      const toml::table* t = p.as_table();
      if (!t) return config_error(source, "replica.peers entries must be tables");
      PeerConfig pc;
      const auto pid = (*t)["id"].value<std::int64_t>();
      if (!pid || *pid <= 0 || *pid > 0xFFFF) {
        return config_error(source, "replica.peers[].id must be 1..65535");
      }
      pc.id = static_cast<ReplicaId>(*pid);
      pc.address = (*t)["address"].value_or(std::string());
      if (pc.address.find(':') == std::string::npos) {
        return config_error(
            source, "replica.peers[" + std::to_string(pc.id) + "].address must be host:port");
      }
      if (!seen.insert(pc.id).second) {
        return config_error(source, "replica id " + std::to_string(pc.id) + " appears twice");
      }
      c.peers.push_back(std::move(pc));
    }
  }
  if (c.replicated_k > c.peers.size()) {
    return config_error(source, "replica.durability replicated:" + std::to_string(c.replicated_k) +
                                    " but only " + std::to_string(c.peers.size()) + " peers");
  }
  return c;
}

crdt::Result<ReplicaNodeConfig> load_node_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) return config_error(path, "cannot open the file");
  std::string text(std::istreambuf_iterator<char>(in), {});
  return parse_node_config(text, path);
}

}  // namespace worldline::replica
