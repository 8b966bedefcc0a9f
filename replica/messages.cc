#include "replica/messages.h"

#include <kj/exception.h>

#include "schemas/packed.h"
#include "schemas/replica.capnp.h"

namespace worldline::replica {
namespace {

namespace s = ::worldline::schema;

crdt::Error decode_error(const std::string& what) {
  return crdt::make_error(crdt::ErrorCode::kDecode, what);
}

void put_entries(capnp::List<s::Entry>::Builder list, const std::vector<WireEntry>& entries) {
  for (unsigned i = 0; i < entries.size(); ++i) {
    list[i].setEntity(entries[i].key.entity);
    list[i].setComponent(entries[i].key.component);
    list[i].setValue(kj::arrayPtr(reinterpret_cast<const kj::byte*>(entries[i].value.data()),
                                  entries[i].value.size()));
  }
}

std::vector<WireEntry> get_entries(capnp::List<s::Entry>::Reader list) {
  std::vector<WireEntry> out;
  out.reserve(list.size());
  for (auto e : list) {
    auto v = e.getValue();
    out.push_back(WireEntry{Key{e.getEntity(), e.getComponent()},
                            std::string(reinterpret_cast<const char*>(v.begin()), v.size())});
  }
  return out;
}

// Below this many values, handing them to other threads costs more than it saves.
constexpr std::size_t kParallelFrom = 512;

}  // namespace

std::vector<WireEntry> to_wire(const DeltaGroup& group, const ParallelFor& parallel) {
  std::vector<WireEntry> out;
  out.reserve(group.size());
  if (!parallel || group.size() < kParallelFrom) {
    for (const auto& [key, value] : group)
      out.push_back(WireEntry{key, encode_value(value)});
    return out;
  }
  std::vector<const ComponentValue*> values;
  values.reserve(group.size());
  for (const auto& [key, value] : group) {
    out.push_back(WireEntry{key, {}});
    values.push_back(&value);
  }
  parallel(out.size(), [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i)
      out[i].value = encode_value(*values[i]);
  });
  return out;
}

std::vector<WireEntry> to_wire(const std::vector<DeltaList>& lists, const ParallelFor& parallel) {
  const FlatLists flat(lists);
  std::vector<WireEntry> out(flat.size());
  auto encode = [&](std::size_t begin, std::size_t end) {
    std::size_t at = begin;
    flat.for_each(begin, end, [&](std::size_t l, std::size_t i) {
      const auto& [key, value] = lists[l][i];
      out[at++] = WireEntry{key, encode_value(value)};
    });
  };
  if (!parallel || flat.size() < kParallelFrom) {
    encode(0, flat.size());
  } else {
    parallel(flat.size(), encode);
  }
  return out;
}

std::string encode_message(const GossipMessage& m) {
  capnp::MallocMessageBuilder message;
  auto root = message.initRoot<s::GossipMessage>();
  root.setOrigin(m.origin);
  switch (m.kind) {
    case GossipMessage::Kind::kDelta: {
      auto d = root.initDelta();
      d.setSeq(m.delta.seq);
      d.setPart(m.delta.part);
      d.setParts(m.delta.parts);
      d.setFullState(m.delta.full_state);
      d.setTransmission(m.delta.transmission);
      put_entries(d.initEntries(m.delta.entries.size()), m.delta.entries);
      break;
    }
    case GossipMessage::Kind::kAck:
      root.setAck(m.ack);
      break;
    case GossipMessage::Kind::kHeartbeat:
      root.setHeartbeat();
      break;
    case GossipMessage::Kind::kResync:
      root.setResync();
      break;
    case GossipMessage::Kind::kDigest: {
      auto list = root.initDigest(m.digest.size());
      for (unsigned i = 0; i < m.digest.size(); ++i) {
        list[i].setEntity(m.digest[i].first.entity);
        list[i].setComponent(m.digest[i].first.component);
        list[i].setHash(m.digest[i].second);
      }
      break;
    }
    case GossipMessage::Kind::kDigestRequest:
      root.setDigestRequest();
      break;
    case GossipMessage::Kind::kFetch: {
      auto list = root.initFetch(m.keys.size());
      for (unsigned i = 0; i < m.keys.size(); ++i) {
        list[i].setEntity(m.keys[i].entity);
        list[i].setComponent(m.keys[i].component);
      }
      break;
    }
  }
  return schema::to_packed_bytes(message);
}

crdt::Result<GossipMessage> decode_message(std::string_view bytes) {
  try {
    schema::PackedReader reader(bytes);
    auto root = reader.root<s::GossipMessage>();
    GossipMessage m;
    m.origin = root.getOrigin();
    switch (root.which()) {
      case s::GossipMessage::DELTA: {
        auto d = root.getDelta();
        m.kind = GossipMessage::Kind::kDelta;
        m.delta.seq = d.getSeq();
        m.delta.part = d.getPart();
        m.delta.parts = d.getParts();
        m.delta.full_state = d.getFullState();
        m.delta.transmission = d.getTransmission();
        if (m.delta.parts == 0 || m.delta.part >= m.delta.parts) {
          return decode_error("gossip: delta part " + std::to_string(m.delta.part) + " of " +
                              std::to_string(m.delta.parts));
        }
        m.delta.entries = get_entries(d.getEntries());
        return m;
      }
      case s::GossipMessage::ACK:
        m.kind = GossipMessage::Kind::kAck;
        m.ack = root.getAck();
        return m;
      case s::GossipMessage::HEARTBEAT:
        m.kind = GossipMessage::Kind::kHeartbeat;
        return m;
      case s::GossipMessage::RESYNC:
        m.kind = GossipMessage::Kind::kResync;
        return m;
      case s::GossipMessage::DIGEST:
        m.kind = GossipMessage::Kind::kDigest;
        for (auto d : root.getDigest()) {
          m.digest.emplace_back(Key{d.getEntity(), d.getComponent()}, d.getHash());
        }
        return m;
      case s::GossipMessage::DIGEST_REQUEST:
        m.kind = GossipMessage::Kind::kDigestRequest;
        return m;
      case s::GossipMessage::FETCH:
        m.kind = GossipMessage::Kind::kFetch;
        for (auto k : root.getFetch())
          m.keys.push_back(Key{k.getEntity(), k.getComponent()});
        return m;
    }
    return decode_error("gossip: unknown message kind " +
                        std::to_string(static_cast<int>(root.which())));
  } catch (const kj::Exception& e) {
    return decode_error(std::string("gossip: ") + e.getDescription().cStr());
  }
}

std::string encode_record(const JournalRecord& r) {
  capnp::MallocMessageBuilder message;
  auto root = message.initRoot<s::JournalRecord>();
  root.setSeq(r.seq);
  put_entries(root.initEntries(r.entries.size()), r.entries);
  return schema::to_packed_bytes(message);
}

crdt::Result<JournalRecord> decode_record(std::string_view bytes) {
  try {
    schema::PackedReader reader(bytes);
    auto root = reader.root<s::JournalRecord>();
    return JournalRecord{root.getSeq(), get_entries(root.getEntries())};
  } catch (const kj::Exception& e) {
    return decode_error(std::string("journal record: ") + e.getDescription().cStr());
  }
}

}  // namespace worldline::replica
