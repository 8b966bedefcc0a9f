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
  join_held_back(nullptr, a);
  if (a.refused) {
    spdlog::warn("replica {}: journal record {}: {} entries refused on replay, first: {}",
                 options_.id, record.seq, a.refused, a.first_refusal);
  }
  next_seq_ = std::max(next_seq_, record.seq + 1);
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
  }
  std::string bytes = encode_message(m);
  peer.bytes_sent += bytes.size();
  outbox_.send(to, std::move(bytes));
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
    const bool recently_sent =
        peer.last_sent_seq == next_seq_ && now_ms < peer.last_sent_ms + options_.retransmit_ms;
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

bool Replica::receive(ReplicaId from, std::string_view bytes, std::uint64_t now_ms) {
  auto pit = peers_.find(from);
  if (pit == peers_.end()) {
    ++rejected_messages_;
    spdlog::warn("replica {}: message from unknown replica {} dropped", options_.id, from);
    return false;
  }
  Peer& peer = pit->second;
  peer.bytes_received += bytes.size();
  auto decoded = decode_message(bytes);
  if (!decoded) {
    ++rejected_messages_;
    spdlog::warn("replica {}: malformed message from replica {} ({} bytes): {}", options_.id, from,
                 bytes.size(), decoded.error().to_string());
    return false;
  }
  const GossipMessage& m = decoded.value();
  if (m.origin != from) {
    ++rejected_messages_;
    spdlog::warn("replica {}: replica {} sent a message claiming origin {}", options_.id, from,
                 m.origin);
    return false;
  }
  peer.detector.heard(now_ms);
  switch (m.kind) {
    case GossipMessage::Kind::kDelta:
      full_state_from_ = m.delta.full_state ? from : 0;  // see send()
      on_delta(from, peer, m.delta, now_ms);
      full_state_from_ = 0;
      break;
    case GossipMessage::Kind::kAck:
      on_ack(peer, m.ack, now_ms);
      break;
    case GossipMessage::Kind::kHeartbeat:
      break;
    case GossipMessage::Kind::kResync:
      spdlog::info("replica {}: replica {} asks for a full state", options_.id, from);
      peer.acked = 0;
      peer.known_digest.emplace();  // it holds nothing we can count on: the diff is everything
      peer.needs_state = true;
      peer.last_sent_seq.reset();
      break;
    case GossipMessage::Kind::kDigest:
      spdlog::info("replica {}: replica {} sent its digest ({} keys); a diff follows", options_.id,
                   from, m.digest.size());
      peer.acked = 0;
      peer.known_digest.emplace(m.digest.begin(), m.digest.end());
      peer.needs_state = true;
      peer.last_sent_seq.reset();
      break;
    case GossipMessage::Kind::kDigestRequest: {
      GossipMessage reply = message(GossipMessage::Kind::kDigest);
      reply.digest = store_.key_digests();
      send(from, peer, reply);
      break;
    }
    case GossipMessage::Kind::kFetch: {
      std::vector<WireEntry> found;
      for (const Key& k : m.keys) {
        if (const ComponentValue* v = store_.get(k))
          found.push_back(WireEntry{k, encode_value(*v)});
      }
      GossipMessage reply = message(GossipMessage::Kind::kDelta);
      reply.delta.seq = 0;  // a fetch reply: nothing to acknowledge
      reply.delta.entries = std::move(found);
      send(from, peer, reply);
      break;
    }
  }
  return true;
}

void Replica::refuse(Assembly& a, const crdt::Error& e, bool skew) {
  if (a.refused++ == 0) a.first_refusal = e.to_string();
  if (skew) ++a.refused_for_skew;
}

void Replica::join_entries(Peer* peer, const std::vector<WireEntry>& entries, Assembly& a) {
  for (const auto& e : entries) {
    auto decoded = store_.decode_remote(e.key, e.value);
    if (!decoded) {
      refuse(a, decoded.error(), false);
      continue;
    }
    ComponentValue& value = decoded.value();
    if (clock_ && peer) {
      if (auto stamp = newest_stamp(value)) {
        auto merged = clock_->receive(*stamp);
        if (!merged) {
          store_.count_refused(merged.error());
          refuse(a, merged.error(), true);
          continue;
        }
      }
    }
    if (kind_of(value) == ComponentKind::kBoundedCounter) {
      merge_into(a.held_back, e.key, std::move(value));
      continue;
    }
    auto changed = store_.join_checked(e.key, value);
    if (!changed) {
      refuse(a, changed.error(), false);
    } else if (changed.value()) {
      note_change(e.key);
      if (peer) {
        merge_into(peer->pending_group, e.key, std::move(value));
        peer->pending_record.entries.push_back(e);
      }
    }
  }
}

void Replica::join_held_back(Peer* peer, Assembly& a) {
  for (auto& [key, value] : a.held_back) {
    auto changed = store_.join_checked(key, value);
    if (!changed) {
      refuse(a, changed.error(), false);
    } else if (changed.value()) {
      note_change(key);
      if (peer) {
        peer->pending_record.entries.push_back(WireEntry{key, encode_value(value)});
        merge_into(peer->pending_group, key, std::move(value));
      }
    }
  }
  a.held_back.clear();
}

void Replica::on_delta(ReplicaId from, Peer& peer, const DeltaBatch& batch, std::uint64_t now_ms) {
  // Parts of one transmission are joined on arrival (any subset of deltas is safe to join) but
  // journaled together, once, when the last part arrives and before the ack: one synced commit per
  // interval instead of one per part. A crash in between loses only what was never acknowledged,
  // and the sender sends it again.
  if (batch.seq == 0) {  // a fetch reply: one message, nothing to acknowledge
    Assembly reply;
    join_entries(&peer, batch.entries, reply);
    join_held_back(&peer, reply);
    if (reply.refused) {
      spdlog::warn("replica {}: {} entries of a fetch reply from replica {} refused, first: {}",
                   options_.id, reply.refused, from, reply.first_refusal);
    }
    flush_pending(from, peer, now_ms);
    collect_garbage(now_ms);
    return;
  }
  Assembly& a = peer.assembly;
  // Another transmission — even one with the same seq: an ack may have moved the interval's start,
  // or a state diff replaced it — starts a new assembly: parts of two never complete one ack.
  // What the old one joined stays joined and is journaled now; its held-back counters are dropped
  // (the sender sends them again, since we acknowledge nothing of it).
  if (batch.seq != a.seq || batch.transmission != a.transmission ||
      a.parts_seen.size() != batch.parts) {
    if (!flush_pending(from, peer, now_ms)) return;
    a = Assembly{};
    a.seq = batch.seq;
    a.transmission = batch.transmission;
    a.parts_seen.assign(batch.parts, false);
  }
  join_entries(&peer, batch.entries, a);
  a.parts_seen[batch.part] = true;
  if (!std::all_of(a.parts_seen.begin(), a.parts_seen.end(), [](bool b) { return b; })) {
    collect_garbage(now_ms);
    return;
  }
  join_held_back(&peer, a);
  // Everything joined so far is journaled before the ack, not only this peer's part of it: an
  // entry of this transmission that changed nothing may have been joined from another peer's
  // transmission still being assembled (a relayed group), and is durable only once that is.
  for (auto& [id, p] : peers_) {
    if (!flush_pending(id, p, now_ms)) return;
  }
  if (a.refused == 0) {
    // The ack's promise: every entry of exactly this transmission — the sender's interval up to
    // batch.seq, or its state — is joined here and durable in our journal.
    GossipMessage ack = message(GossipMessage::Kind::kAck);
    ack.ack = batch.seq;
    send(from, peer, ack);
  } else {
    ++peer.refused_intervals;
    // Not acknowledged: the sender retransmits. Entries refused for their content (not only for a
    // clock ahead of ours) may stay refused in any interval: ask for whole values instead.
    const bool ask_diff =
        a.refused > a.refused_for_skew &&
        (!peer.diff_asked_ms || now_ms >= *peer.diff_asked_ms + options_.retransmit_ms);
    spdlog::warn(
        "replica {}: {} entries of interval {} (transmission {}) from replica {} refused, first: "
        "{}; not acknowledged{}",
        options_.id, a.refused, batch.seq, batch.transmission, from, a.first_refusal,
        ask_diff ? ", asking for a state diff" : "");
    if (ask_diff) {
      GossipMessage digest = message(GossipMessage::Kind::kDigest);
      digest.digest = store_.key_digests();
      send(from, peer, digest);
      peer.diff_asked_ms = now_ms;
    }
  }
  collect_garbage(now_ms);
}

bool Replica::flush_pending(ReplicaId from, Peer& peer, std::uint64_t now_ms) {
  if (peer.pending_group.empty()) return true;
  // The causal variant: what inflated our state is journaled and buffered under our own
  // numbering, so it travels on to peers that cannot reach the origin.
  peer.pending_record.seq = next_seq_;
  auto ok = journal_.append(peer.pending_record);
  if (!ok) {
    ++journal_failures_;
    spdlog::error("replica {}: journal append failed, not acknowledging replica {}: {}",
                  options_.id, from, ok.error().to_string());
    return false;
  }
  std::vector<DeltaList> group(1);
  group[0].reserve(peer.pending_group.size());
  for (auto& [key, value] : peer.pending_group)
    group[0].emplace_back(key, std::move(value));
  buffer_.emplace(next_seq_++,
                  Buffered{std::move(group), now_ms, from, std::move(peer.pending_record.entries)});
  peer.pending_group.clear();
  peer.pending_record.entries.clear();
  return true;
}

void Replica::on_ack(Peer& peer, std::uint64_t seq, std::uint64_t now_ms) {
  // An ack beyond what we ever numbered is a confused or hostile peer: clamp it.
  peer.acked = std::max(peer.acked, std::min(seq, next_seq_));
  collect_garbage(now_ms);
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
