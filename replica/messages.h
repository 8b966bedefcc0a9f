// The replica protocol's messages and journal records in memory, and their encoding
// (schemas/replica.capnp). Decoding checks structure only — part numbering, sizes; each entry's
// value bytes are validated by Store::join_remote against the component's kind.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "crdt/causal_context.h"
#include "crdt/result.h"
#include "replica/store.h"

namespace worldline::replica {

using crdt::ReplicaId;

struct WireEntry {
  Key key;
  std::string value;  // crdt codec bytes
  bool operator==(const WireEntry&) const = default;
};

struct DeltaBatch {
  std::uint64_t seq = 0;
  std::uint32_t part = 0;
  std::uint32_t parts = 1;
  bool full_state = false;
  std::uint64_t transmission = 0;  // the sender's number for this sending of the interval
  std::vector<WireEntry> entries;
  bool operator==(const DeltaBatch&) const = default;
};

struct GossipMessage {
  enum class Kind { kDelta, kAck, kHeartbeat, kResync, kDigest, kDigestRequest, kFetch };
  ReplicaId origin = 0;
  Kind kind = Kind::kHeartbeat;
  DeltaBatch delta;                                   // kDelta (seq 0: a fetch reply, no ack)
  std::uint64_t ack = 0;                              // kAck
  std::vector<std::pair<Key, std::uint64_t>> digest;  // kDigest: key → value hash
  std::vector<Key> keys;                              // kFetch
  bool operator==(const GossipMessage&) const = default;
};

std::string encode_message(const GossipMessage& m);
crdt::Result<GossipMessage> decode_message(std::string_view bytes);

// Runs body(begin, end) over ranges that together cover [0, n), possibly on several threads, and
// returns when every range is done. Empty: everything on the calling thread.
using ParallelFor =
    std::function<void(std::size_t n, const std::function<void(std::size_t, std::size_t)>& body)>;

// Every value of the group encoded (through `parallel`, when given, for large groups).
std::vector<WireEntry> to_wire(const DeltaGroup& group, const ParallelFor& parallel = {});
// Lists laid end to end, as one range of positions [0, starts.back()): starts[l] is where list l
// begins. for_each(begin, end, fn) calls fn(l, i) for the positions in [begin, end) — i the index
// within list l — so a ParallelFor can split many lists of different sizes evenly.
class FlatLists {
 public:
  template <class Lists>
  explicit FlatLists(const Lists& lists) {
    starts_.reserve(lists.size() + 1);
    std::size_t n = 0;
    for (const auto& list : lists) {
      starts_.push_back(n);
      n += list_size(list);
    }
    starts_.push_back(n);
  }
  std::size_t size() const { return starts_.back(); }
  template <class Fn>
  void for_each(std::size_t begin, std::size_t end, Fn&& fn) const {
    if (begin >= end) return;
    // The list holding `begin`: the last whose start is at or before it.
    auto l = static_cast<std::size_t>(std::upper_bound(starts_.begin(), starts_.end() - 1, begin) -
                                      starts_.begin() - 1);
    for (std::size_t g = begin; g < end; ++g) {
      while (g >= starts_[l + 1])
        ++l;
      fn(l, g - starts_[l]);
    }
  }

 private:
  template <class T>
  static std::size_t list_size(const T& list) {
    if constexpr (std::is_pointer_v<T>) {
      return list->size();
    } else {
      return list.size();
    }
  }
  std::vector<std::size_t> starts_;
};

// The same for lists of deltas, in order (a key in two lists is encoded twice).
std::vector<WireEntry> to_wire(const std::vector<DeltaList>& lists,
                               const ParallelFor& parallel = {});

struct JournalRecord {
  std::uint64_t seq = 0;
  std::vector<WireEntry> entries;
};
std::string encode_record(const JournalRecord& r);
crdt::Result<JournalRecord> decode_record(std::string_view bytes);

}  // namespace worldline::replica
