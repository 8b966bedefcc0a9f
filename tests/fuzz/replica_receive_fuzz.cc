// Fuzz target for everything a peer can send: the gossip message decoder, the per-entry CRDT
// decoders and validators behind Store::join_remote, and the protocol state machine. Any bytes may
// be refused, never with a crash; a message that decodes must re-encode to the same message.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "crdt/codec.h"
#include "replica/replica.h"

namespace {

using namespace worldline;
using namespace worldline::replica;

struct NullOutbox : Outbox {
  void send(ReplicaId, std::string) override {}
};

struct Harness {
  Harness() {
    spdlog::set_level(spdlog::level::err);
  }  // refusals are expected here, by the
     // thousand
  ComponentRegistry registry = ComponentRegistry::game_defaults();
  MemoryJournal journal;
  NullOutbox outbox;
  Replica replica{ReplicaOptions{1, {1, 2}}, registry, journal, outbox};
  std::uint64_t now = 0;
};

}  // namespace

// Seeds for the standalone driver: well-formed messages of every kind.
std::vector<std::string> worldline_fuzz_seeds() {
  crdt::Kills kills;
  kills.increment(2, 4);
  crdt::GuildMembers members;
  members.add(2, 77);
  GossipMessage delta;
  delta.origin = 2;
  delta.kind = GossipMessage::Kind::kDelta;
  delta.delta = DeltaBatch{
      3, 0,
      1, false,
      1, {WireEntry{Key{1, 12}, crdt::encode(kills)}, WireEntry{Key{1, 8}, crdt::encode(members)}}};
  GossipMessage ack;
  ack.origin = 2;
  ack.kind = GossipMessage::Kind::kAck;
  ack.ack = 5;
  GossipMessage resync;
  resync.origin = 2;
  resync.kind = GossipMessage::Kind::kResync;
  return {encode_message(delta), encode_message(ack), encode_message(resync)};
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Harness* h = new Harness;  // state carries over between inputs, as on a live link
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  auto decoded = decode_message(bytes);
  if (decoded) {
    auto again = decode_message(encode_message(decoded.value()));
    if (!again || !(again.value() == decoded.value())) {
      std::fprintf(stderr, "gossip message did not survive re-encoding\n");
      std::abort();
    }
  }
  h->replica.receive(2, bytes, ++h->now);
  if (h->now % 64 == 0) h->replica.gossip(h->now);
  return 0;
}
