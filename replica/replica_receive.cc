// The receiving side of Replica (replica/replica.h): messages from peers, the assembly of one
// transmission's parts, the validation and join of their entries, and what an ack promises —
// every entry of exactly that transmission held here and journaled, none refused.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "replica/replica.h"

namespace worldline::replica {

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
        peer->pending.emplace_back(e.key, std::move(value));
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
        peer->pending.emplace_back(key, std::move(value));
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
  if (peer.pending.empty()) return true;
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
  group[0].swap(peer.pending);
  buffer_.emplace(next_seq_++,
                  Buffered{std::move(group), now_ms, from, std::move(peer.pending_record.entries)});
  peer.pending_record.entries.clear();
  return true;
}

void Replica::on_ack(Peer& peer, std::uint64_t seq, std::uint64_t now_ms) {
  // An ack beyond what we ever numbered is a confused or hostile peer: clamp it.
  peer.acked = std::max(peer.acked, std::min(seq, next_seq_));
  collect_garbage(now_ms);
}

}  // namespace worldline::replica
