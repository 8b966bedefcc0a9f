// What the Replica's protocol tests share: an outbox that keeps what the replica sends (and
// decodes it per peer), and a guild-membership mutator to write with.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "replica/messages.h"
#include "replica/replica.h"

namespace worldline::replica::testing {

class CapturingOutbox : public Outbox {
 public:
  void send(ReplicaId to, std::string bytes) override { sent.emplace_back(to, std::move(bytes)); }
  std::vector<GossipMessage> decoded_to(ReplicaId to) const {
    std::vector<GossipMessage> out;
    for (const auto& [t, b] : sent) {
      if (t == to) out.push_back(decode_message(b).value());
    }
    return out;
  }
  std::vector<std::pair<ReplicaId, std::string>> sent;
};

inline std::optional<ComponentValue> add_member(ComponentValue& v, ReplicaId r, std::uint64_t id) {
  return value_as<crdt::GuildMembers>(v).add(r, id);
}

}  // namespace worldline::replica::testing
