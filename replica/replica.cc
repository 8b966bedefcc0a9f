#include "replica/replica.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace worldline::replica {
namespace {

const std::vector<double> kConvergenceBoundsMs = {1,   2,   5,    10,   20,   50,    100,
                                                  200, 500, 1000, 2000, 5000, 10000, 60000};

}  // namespace

Replica::Replica(ReplicaOptions options, const ComponentRegistry& registry, Journal& journal,
                 Outbox& outbox)
    : options_(std::move(options)),
      store_(registry),
      journal_(journal),
      outbox_(outbox),
      convergence_ms_(kConvergenceBoundsMs) {
  for (ReplicaId p : options_.peers) {
    if (p != options_.id) peers_[p];
  }
}

void Replica::restore(const JournalRecord& record) {
  // A record is one group: its bounded counters are checked as a whole, like a transmission's.
  Assembly a;
  join_entries(nullptr, record.entries, a);
  // A bounded counter refused here may be a spend whose rights came in a record that was
  // quarantined: kept, and joined again once the repair brought that state back (found by the
  // node simulation, seed 420 of 2026-12-07: an acknowledged spend dropped at replay, its record
  // never gossiped before the crash, so no peer held it either).
  std::size_t held = 0;
  std::string first_held;
  for (auto& [key, value] : a.held_back) {
    auto changed = store_.join_checked(key, value);
    if (!changed) {
      if (held++ == 0) first_held = changed.error().to_string();
      merge_into(replay_held_, key, std::move(value));
    } else if (changed.value()) {
      note_change(key);
    }
  }
  a.held_back.clear();
  if (a.refused) {
    spdlog::warn("replica {}: journal record {}: {} entries refused on replay, first: {}",
                 options_.id, record.seq, a.refused, a.first_refusal);
  }
  if (held) {
    spdlog::warn(
        "replica {}: journal record {}: {} bounded counters not valid on replay (kept, joined "
        "again after the repair), first: {}",
        options_.id, record.seq, held, first_held);
  }
  next_seq_ = std::max(next_seq_, record.seq + 1);
}

void Replica::rejoin_replay_held() {
  if (replay_held_.empty()) return;
  std::size_t joined = 0, refused = 0;
  std::string first;
  for (auto& [key, value] : replay_held_) {
    auto changed = store_.join_checked(key, value);
    if (!changed) {
      if (refused++ == 0) first = changed.error().to_string();
      continue;
    }
    ++joined;
    if (changed.value()) note_change(key);
    // Into the next group: journaled again after the repair's records (a later replay meets it
    // after the state it needs) and gossiped (no peer may hold it).
    merge_into(open_, key, std::move(value));
  }
  replay_held_.clear();
  if (refused) {
    spdlog::error(
        "replica {}: {} bounded counters from the journal still invalid after the repair "
        "(dropped), first: {}",
        options_.id, refused, first);
  }
  if (joined) {
    spdlog::info("replica {}: {} bounded counters held back at replay joined after the repair",
                 options_.id, joined);
  }
}

std::vector<Key> Replica::take_changes() {
  std::vector<Key> out;
  out.swap(changes_);
  return out;
}

crdt::Result<bool> Replica::write(const Key& key, const Mutator& mutate) {
  if (repairing()) {
    return crdt::make_error(crdt::ErrorCode::kInvalidState,
                            "replica " + std::to_string(options_.id) +
                                " is repairing lost state: local writes wait until every peer "
                                "sent its state (it would reuse dots and counter totals)");
  }
  auto delta = store_.mutate(key, mutate);
  if (!delta) return delta.error();
  if (!delta.value()) return false;
  note_change(key);
  merge_into(open_, key, std::move(*delta.value()));
  return true;
}

void Replica::write_prepared(const std::vector<std::vector<PreparedWrite>*>& batches,
                             bool note_changes) {
  if (repairing()) {
    throw std::logic_error("Replica::write_prepared while repairing lost state (replica " +
                           std::to_string(options_.id) + "): the node's write fence is broken");
  }
  // The work is split by writes, not by batches (cells' write counts differ tenfold): each list
  // is sized first, so two threads filling one batch's list write different elements.
  const std::size_t first = open_lists_.size();
  open_lists_.resize(first + batches.size());
  std::vector<std::vector<char>> stored(batches.size());  // char, not bool: written concurrently
  for (std::size_t b = 0; b < batches.size(); ++b) {
    open_lists_[first + b].resize(batches[b]->size());
    stored[b].assign(batches[b]->size(), 0);
  }
  const FlatLists flat(batches);
  auto prepare = [&](std::size_t begin, std::size_t end) {
    flat.for_each(begin, end, [&](std::size_t b, std::size_t i) {
      PreparedWrite& w = (*batches[b])[i];
      if (ComponentValue* v = store_.value_for_update(w.key)) {
        *v = std::move(w.value);
        stored[b][i] = 1;
      }
      open_lists_[first + b][i] = {w.key, std::move(w.delta)};
    });
  };
  if (parallel_ && batches.size() > 1) {
    parallel_(flat.size(), prepare);
  } else {
    prepare(0, flat.size());
  }
  for (std::size_t b = 0; b < batches.size(); ++b) {
    std::vector<PreparedWrite>& batch = *batches[b];
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (!stored[b][i]) store_.join_local(batch[i].key, batch[i].value);
      if (note_changes) note_change(batch[i].key);
    }
  }
}

crdt::Result<std::optional<std::uint64_t>> Replica::commit(std::uint64_t now_ms) {
  // What peers' transmissions still being assembled already joined into the store is journaled
  // first, in groups of its own: the tick that led to this commit may have read it (a region's
  // host reads a player's input_seq at an attach) and acknowledges what it read once this commit
  // is durable — which must then cover it too.
  for (auto& [id, peer] : peers_) {
    if (!flush_pending(id, peer, now_ms)) {
      return crdt::make_error(
          crdt::ErrorCode::kInvalidState,
          "journal append of replica " + std::to_string(id) + "'s joined parts failed");
    }
  }
  if (!open_.empty()) {  // write()'s deltas become one more list
    DeltaList list;
    list.reserve(open_.size());
    for (auto& [key, value] : open_)
      list.emplace_back(key, std::move(value));
    open_lists_.push_back(std::move(list));
    open_.clear();
  }
  if (std::all_of(open_lists_.begin(), open_lists_.end(),
                  [](const DeltaList& l) { return l.empty(); })) {
    open_lists_.clear();
    return std::optional<std::uint64_t>{};
  }
  const std::uint64_t seq = next_seq_;
  JournalRecord record{seq, to_wire(open_lists_, parallel_)};
  auto ok = journal_.append(record);
  if (!ok) {  // the lists stay open
    ++journal_failures_;
    return ok.error();
  }
  ++next_seq_;
  buffer_.emplace(seq, Buffered{std::move(open_lists_), now_ms, 0, std::move(record.entries)});
  open_lists_.clear();
  collect_garbage(now_ms);
  return std::optional<std::uint64_t>{seq};
}

GossipMessage Replica::message(GossipMessage::Kind kind) const {
  GossipMessage m;
  m.origin = options_.id;
  m.kind = kind;
  return m;
}

std::uint64_t Replica::horizon() const {
  return buffer_.empty() ? next_seq_ : buffer_.begin()->first;
}

void Replica::send(ReplicaId to, Peer& peer, const GossipMessage& m) {
  // An ack for a full-state batch: that peer's whole diff is joined and journaled.
  if (m.kind == GossipMessage::Kind::kAck && to == full_state_from_ &&
      awaiting_repair_.erase(to) > 0) {
    spdlog::info("replica {}: replica {} sent its state; {} peers still awaited", options_.id, to,
                 awaiting_repair_.size());
    if (awaiting_repair_.empty()) rejoin_replay_held();
  }
  std::string bytes = encode_message(m);
  peer.bytes_sent += bytes.size();
  if (m.kind == GossipMessage::Kind::kDelta && m.delta.seq != 0) {  // not a fetch reply
    outbox_.send_part(to, std::move(bytes), m.delta.transmission);
  } else {
    outbox_.send(to, std::move(bytes));
  }
}

void Replica::send_batches(ReplicaId to, Peer& peer, std::vector<WireEntry> entries,
                           bool full_state) {
  // Split into parts of at most max_batch_bytes of values; an entry larger than that travels
  // alone rather than being dropped.
  std::vector<std::vector<WireEntry>> parts(1);
  std::size_t bytes = 0;
  for (auto& e : entries) {
    const std::size_t size = e.value.size() + 16;
    if (!parts.back().empty() && bytes + size > options_.max_batch_bytes) {
      parts.emplace_back();
      bytes = 0;
    }
    bytes += size;
    parts.back().push_back(std::move(e));
  }
  GossipMessage m = message(GossipMessage::Kind::kDelta);
  m.delta.seq = next_seq_;
  m.delta.transmission = peer.next_transmission++;
  m.delta.parts = static_cast<std::uint32_t>(parts.size());
  m.delta.full_state = full_state;
  for (std::uint32_t i = 0; i < parts.size(); ++i) {
    m.delta.part = i;
    m.delta.entries = std::move(parts[i]);
    send(to, peer, m);
  }
}

void Replica::gossip(std::uint64_t now_ms) {
  for (auto& [id, peer] : peers_) {
    const bool up_to_date = peer.acked >= next_seq_;
    const bool same_interval = peer.last_sent_seq == next_seq_;
    // While parts of the last transmission still wait behind the transport's window, a newer
    // interval is not sent either: the transport would drop those parts for the newer ones
    // (Outbox::send_part), and a region that commits every tick would start a new transmission
    // every round — none would ever complete. Unless the peer acknowledged more since that one
    // was built: the newer one then starts later, and what waits is mostly what it holds.
    const bool parts_waiting = outbox_.parts_waiting(id) > 0 && peer.acked <= peer.last_sent_from;
    if (!up_to_date && (same_interval || parts_waiting) && outbox_.undelivered(id) > 0) {
      // The interval's last sending has not all reached the peer yet: a large one (a peer far
      // behind, a burst of writes) takes longer than retransmit_ms to transfer and join, and a
      // copy sent now would only queue behind it — twice the bytes, and the peer decodes and
      // joins every entry again before it can acknowledge. The retransmission clock starts once
      // the link has drained; the peer hears from us through what is still arriving.
      peer.last_sent_ms = now_ms;
      continue;
    }
    const bool recently_sent = same_interval && now_ms < peer.last_sent_ms + options_.retransmit_ms;
    if (up_to_date || recently_sent) {
      GossipMessage hb = message(GossipMessage::Kind::kHeartbeat);
      send(id, peer, hb);
      continue;
    }
    // Seq 0 is never used, so "acked 0" needs groups from 1 on.
    if (peer.needs_state || std::max<std::uint64_t>(peer.acked, 1) < horizon()) {
      if (peer.known_digest) {
        send_state_diff(id, peer);
      } else {
        if (!peer.digest_requested_ms ||
            now_ms >= *peer.digest_requested_ms + options_.retransmit_ms) {
          GossipMessage req = message(GossipMessage::Kind::kDigestRequest);
          send(id, peer, req);
          peer.digest_requested_ms = now_ms;
          ++peer.digest_requests_sent;
        }
        continue;  // the diff goes out once the digest arrives
      }
    } else {
      // A short interval goes out as the groups' stored encodings, one after the other (a key
      // in two groups travels twice; joining it twice is harmless). A long one is merged first,
      // so a peer that fell behind gets each key once.
      constexpr std::size_t kConcatenateUpTo = 4;
      std::vector<const Buffered*> groups;
      for (auto it = buffer_.lower_bound(peer.acked); it != buffer_.end(); ++it) {
        if (it->second.from != id) groups.push_back(&it->second);  // never back to its source
      }
      std::vector<WireEntry> entries;
      if (groups.size() <= kConcatenateUpTo) {
        for (const Buffered* g : groups)
          entries.insert(entries.end(), g->wire.begin(), g->wire.end());
      } else {
        DeltaGroup interval;
        for (const Buffered* g : groups) {
          for (const DeltaList& list : g->group) {
            for (const auto& [key, value] : list)
              merge_into(interval, key, value);
          }
        }
        entries = to_wire(interval);
      }
      send_batches(id, peer, std::move(entries), /*full_state=*/false);
    }
    peer.last_sent_seq = next_seq_;
    peer.last_sent_ms = now_ms;
    peer.last_sent_from = peer.acked;
  }
}

void Replica::send_state_diff(ReplicaId to, Peer& peer) {
  std::vector<WireEntry> diff;
  for (const Key& key : store_.sorted_keys()) {  // in key order: the same state, the same bytes
    std::string bytes = encode_value(store_.entries().at(key));
    auto it = peer.known_digest->find(key);
    if (it != peer.known_digest->end() && it->second == bytes_digest(bytes)) continue;
    diff.push_back(WireEntry{key, std::move(bytes)});
  }
  peer.known_digest.reset();
  peer.digest_requested_ms.reset();
  peer.needs_state = false;
  ++peer.full_states_sent;
  send_batches(to, peer, std::move(diff), /*full_state=*/true);
}

void Replica::collect_garbage(std::uint64_t now_ms) {
  std::uint64_t min_acked = next_seq_;
  for (const auto& [id, peer] : peers_)
    min_acked = std::min(min_acked, peer.acked);
  while (!buffer_.empty() && buffer_.begin()->first < min_acked) {
    const std::uint64_t age = now_ms - std::min(now_ms, buffer_.begin()->second.committed_ms);
    convergence_ms_.record(static_cast<double>(age));
    buffer_.erase(buffer_.begin());
  }
  while (buffer_.size() > options_.max_buffer_groups)
    buffer_.erase(buffer_.begin());
}

void Replica::request_resync() {
  if (awaiting_repair_.empty()) {  // a new repair: every peer's state is needed
    for (const auto& [id, peer] : peers_)
      awaiting_repair_.insert(id);
  }
  GossipMessage m = message(GossipMessage::Kind::kDigest);
  m.digest = store_.key_digests();
  for (auto& [id, peer] : peers_) {
    if (awaiting_repair_.count(id)) send(id, peer, m);
  }
}

void Replica::request_keys(const std::vector<Key>& keys) {
  if (keys.empty()) return;
  GossipMessage m = message(GossipMessage::Kind::kFetch);
  m.keys = keys;
  for (auto& [id, peer] : peers_)
    send(id, peer, m);
}

ReplicaStats Replica::stats(std::uint64_t now_ms) const {
  ReplicaStats s;
  s.next_seq = next_seq_;
  s.buffer_groups = buffer_.size();
  s.rejected_entries = store_.rejected();
  s.rejected_messages = rejected_messages_;
  s.journal_failures = journal_failures_;
  for (const auto& [id, peer] : peers_) {
    PeerStats& p = s.peers[id];
    p.acked = peer.acked;
    p.lag_groups = next_seq_ - std::min(next_seq_, std::max<std::uint64_t>(peer.acked, 1));
    if (auto it = buffer_.lower_bound(peer.acked); it != buffer_.end()) {
      p.lag_ms = now_ms - std::min(now_ms, it->second.committed_ms);
    }
    p.up = peer.detector.up(now_ms);
    p.phi = peer.detector.phi(now_ms);
    p.bytes_sent = peer.bytes_sent;
    p.bytes_received = peer.bytes_received;
    p.full_states_sent = peer.full_states_sent;
    p.digest_requests_sent = peer.digest_requests_sent;
    p.refused_intervals = peer.refused_intervals;
  }
  s.convergence_ms = convergence_ms_;
  return s;
}

}  // namespace worldline::replica
