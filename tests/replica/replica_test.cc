// The Replica's protocol through its public interface, with exact outcomes: bad and edge-case
// messages, acknowledgements of multi-part and refused intervals, batching and resends, digests
// and resyncs, commits encoded on several threads, prepared writes, journal failures and the
// failure detector. (The store, the messages and the node config have files of their own.)
#include "replica/replica.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <thread>

#include "crdt/codec.h"

namespace worldline::replica {
namespace {

using ::testing::HasSubstr;

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

std::optional<ComponentValue> add_member(ComponentValue& v, ReplicaId r, std::uint64_t id) {
  return value_as<crdt::GuildMembers>(v).add(r, id);
}

TEST(Replica, DropsMessagesFromUnknownPeersForgedOriginsAndGarbage) {
  const auto reg = ComponentRegistry::game_defaults();
  MemoryJournal journal;
  CapturingOutbox out;
  Replica r(ReplicaOptions{1, {1, 2}}, reg, journal, out);
  GossipMessage hb;
  hb.origin = 3;
  hb.kind = GossipMessage::Kind::kHeartbeat;
  EXPECT_FALSE(r.receive(3, encode_message(hb), 0));  // not a peer
  EXPECT_FALSE(r.receive(2, encode_message(hb), 0));  // peer 2 claiming to be 3
  EXPECT_FALSE(r.receive(2, "\x01\x02garbage", 0));
  hb.origin = 2;
  EXPECT_TRUE(r.receive(2, encode_message(hb), 0));
  EXPECT_EQ(r.stats(0).rejected_messages, 3u);
  EXPECT_TRUE(out.sent.empty());
}

TEST(Replica, NeverAcknowledgesAnIntervalWithARefusedEntryAndAsksForAStateDiffInstead) {
  const auto reg = ComponentRegistry::game_defaults();
  MemoryJournal journal;
  CapturingOutbox out;
  Replica r(ReplicaOptions{1, {1, 2}}, reg, journal, out);
  crdt::Kills kills;
  kills.increment(2, 5);
  GossipMessage m;
  m.origin = 2;
  m.kind = GossipMessage::Kind::kDelta;
  m.delta.seq = 9;
  m.delta.transmission = 1;
  m.delta.entries = {WireEntry{Key{1, 12}, crdt::encode(kills)},
                     WireEntry{Key{1, 3}, "not a pn counter"}};
  EXPECT_TRUE(r.receive(2, encode_message(m), 10));
  // The good entry is joined (any subset of deltas is safe to join) and journaled ...
  EXPECT_EQ(std::get<crdt::Kills>(*r.store().get(Key{1, 12})).value(), 5u);
  EXPECT_EQ(r.stats(10).rejected_entries, 1u);
  ASSERT_EQ(journal.records().size(), 1u);
  // ... but the interval is not acknowledged: the sender would drop an entry we do not hold.
  const auto replies = out.decoded_to(2);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].kind, GossipMessage::Kind::kDigest);  // whole values instead
  EXPECT_EQ(replies[0].digest.size(), 1u);
  EXPECT_EQ(r.stats(10).peers.at(2).refused_intervals, 1u);
  // The same transmission again within the retransmit interval: still no ack, no second digest.
  EXPECT_TRUE(r.receive(2, encode_message(m), 20));
  EXPECT_EQ(out.decoded_to(2).size(), 1u);
}

TEST(Replica, ABoundedCounterSpendListedBeforeTheGrantOfItsRightsJoinsAndIsAcknowledged) {
  // A real group in that order: a between-ticks write() grants gold, the tick's prepared writes
  // spend part of it, and commit() lists the tick's writes before write()'s.
  const auto reg = ComponentRegistry::game_defaults();
  MemoryJournal j1, j2;
  CapturingOutbox o1, o2;
  Replica r1(ReplicaOptions{1, {1, 2}}, reg, j1, o1);
  Replica r2(ReplicaOptions{2, {1, 2}}, reg, j2, o2);
  const Key gold{7, 4};
  ASSERT_TRUE(r1.write(gold, [](ComponentValue& v) -> std::optional<ComponentValue> {
                  return Boxed<crdt::Gold>(value_as<crdt::Gold>(v).increment(1, 10));
                }).ok());
  ComponentValue after = *r1.store().get(gold);
  auto spend = value_as<crdt::Gold>(after).decrement(1, 3);
  ASSERT_TRUE(spend.ok());
  std::vector<Replica::PreparedWrite> tick{{gold, after, Boxed<crdt::Gold>(spend.value())}};
  r1.write_prepared({&tick});
  ASSERT_TRUE(r1.commit(0).ok());
  r1.gossip(0);
  for (auto& [to, bytes] : o1.sent) {
    ASSERT_EQ(to, 2u);
    EXPECT_TRUE(r2.receive(1, bytes, 0));
  }
  ASSERT_NE(r2.store().get(gold), nullptr);
  EXPECT_EQ(value_as<crdt::Gold>(*r2.store().get(gold)).value(), 7);  // the spend is not lost
  EXPECT_EQ(r2.stats(0).rejected_entries, 0u);
  const auto acks = o2.decoded_to(1);
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].kind, GossipMessage::Kind::kAck);
  EXPECT_EQ(acks[0].ack, 2u);
}

TEST(Replica, ABoundedCounterDeltaThatStaysInvalidIsRefusedWhenTheTransmissionIsComplete) {
  const auto reg = ComponentRegistry::game_defaults();
  MemoryJournal journal;
  CapturingOutbox out;
  Replica r(ReplicaOptions{1, {1, 2}}, reg, journal, out);
  crdt::Gold spent_without_rights(0, {}, {{2, 4}}, {});  // a spend of rights never granted
  GossipMessage m;
  m.origin = 2;
  m.kind = GossipMessage::Kind::kDelta;
  m.delta.seq = 3;
  m.delta.transmission = 1;
  m.delta.parts = 2;
  m.delta.entries = {WireEntry{Key{1, 4}, crdt::encode(spent_without_rights)}};
  EXPECT_TRUE(r.receive(2, encode_message(m), 0));
  EXPECT_EQ(r.stats(0).rejected_entries, 0u);  // held back until the last part
  m.delta.part = 1;
  m.delta.entries.clear();
  EXPECT_TRUE(r.receive(2, encode_message(m), 0));
  EXPECT_EQ(r.stats(0).rejected_entries, 1u);
  EXPECT_EQ(r.store().get(Key{1, 4}), nullptr);
  const auto replies = out.decoded_to(2);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].kind, GossipMessage::Kind::kDigest);
}

TEST(Replica, PartsOfTwoTransmissionsWithTheSameSeqNeverCompleteOneAck) {
  const auto reg = ComponentRegistry::game_defaults();
  MemoryJournal journal;
  CapturingOutbox out;
  Replica r(ReplicaOptions{1, {1, 2}}, reg, journal, out);
  auto part = [](std::uint64_t transmission, std::uint32_t part, std::uint64_t entity) {
    crdt::Kills kills;
    kills.increment(2, entity);
    GossipMessage m;
    m.origin = 2;
    m.kind = GossipMessage::Kind::kDelta;
    m.delta.seq = 4;
    m.delta.transmission = transmission;
    m.delta.parts = 2;
    m.delta.part = part;
    m.delta.entries = {WireEntry{Key{entity, 12}, crdt::encode(kills)}};
    return encode_message(m);
  };
  EXPECT_TRUE(r.receive(2, part(1, 0, 10), 0));  // transmission 1, part 0
  EXPECT_TRUE(r.receive(2, part(2, 1, 21), 0));  // transmission 2, part 1: not the same sending
  EXPECT_TRUE(out.decoded_to(2).empty());
  EXPECT_TRUE(r.receive(2, part(2, 0, 20), 0));  // transmission 2 complete
  const auto acks = out.decoded_to(2);
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].ack, 4u);
  for (std::uint64_t e : {10u, 20u, 21u})
    EXPECT_NE(r.store().get(Key{e, 12}), nullptr) << e;
}

TEST(Replica, MergesPeersStampsIntoItsClockAndHoldsBackStampsTooFarAhead) {
  const auto reg = ComponentRegistry::game_defaults();
  MemoryJournal journal;
  CapturingOutbox out;
  crdt::ManualClock wall(1'000);
  crdt::HlcClock clock(1, wall, /*max_skew_ms=*/10'000);
  Replica r(ReplicaOptions{1, {1, 2}}, reg, journal, out);
  r.set_clock(&clock);
  std::uint64_t transmission = 0;
  auto position = [&](std::uint64_t at_ms, double x) {
    GossipMessage m;
    m.origin = 2;
    m.kind = GossipMessage::Kind::kDelta;
    m.delta.seq = at_ms;
    m.delta.transmission = ++transmission;  // a retransmission is a new transmission
    crdt::Position p;
    (void)p.assign({x, 0, 0}, crdt::Hlc{at_ms, 0, 2});
    m.delta.entries = {WireEntry{Key{5, 1}, crdt::encode(p)}};
    return encode_message(m);
  };
  // A peer whose clock runs 5 s ahead (within the skew): our next stamp comes after its write,
  // so a write of ours after it (authority moved here) wins.
  EXPECT_TRUE(r.receive(2, position(6'000, 1), 0));
  EXPECT_GT(clock.now(), (crdt::Hlc{6'000, 0, 2}));
  ASSERT_EQ(out.decoded_to(2).size(), 1u);
  EXPECT_EQ(out.decoded_to(2)[0].ack, 6'000u);
  // 30 s ahead: refused, not acknowledged, and our clock is not dragged forward.
  EXPECT_TRUE(r.receive(2, position(31'000, 2), 0));
  EXPECT_EQ(value_as<crdt::Position>(*r.store().get(Key{5, 1})).value().x, 1);
  EXPECT_LT(clock.now().physical_ms, 31'000u);
  ASSERT_EQ(out.decoded_to(2).size(), 1u);  // no ack, and no digest: only time can mend this
  EXPECT_EQ(r.store().rejected_by_reason().at("clock_skew"), 1u);
  // Once our time is within the skew of it, the retransmission joins and is acknowledged.
  wall.set(25'000);
  EXPECT_TRUE(r.receive(2, position(31'000, 2), 0));
  EXPECT_EQ(value_as<crdt::Position>(*r.store().get(Key{5, 1})).value().x, 2);
  ASSERT_EQ(out.decoded_to(2).size(), 2u);
  EXPECT_EQ(out.decoded_to(2)[1].ack, 31'000u);
}

TEST(Replica, AcknowledgesAMultiPartIntervalOnlyWhenEveryPartArrived) {
  const auto reg = ComponentRegistry::game_defaults();
  MemoryJournal journal;
  CapturingOutbox out;
  Replica r(ReplicaOptions{1, {1, 2}}, reg, journal, out);
  GossipMessage m;
  m.origin = 2;
  m.kind = GossipMessage::Kind::kDelta;
  m.delta.seq = 4;
  m.delta.parts = 3;
  for (std::uint32_t part : {2u, 0u}) {
    m.delta.part = part;
    EXPECT_TRUE(r.receive(2, encode_message(m), 0));
  }
  EXPECT_TRUE(out.decoded_to(2).empty());
  m.delta.part = 1;
  EXPECT_TRUE(r.receive(2, encode_message(m), 0));
  ASSERT_EQ(out.decoded_to(2).size(), 1u);
  EXPECT_EQ(out.decoded_to(2)[0].ack, 4u);
}

TEST(Replica, SplitsLargeIntervalsIntoBoundedPartsAndNeverDropsAnEntry) {
  const auto reg = ComponentRegistry::game_defaults();
  MemoryJournal journal;
  CapturingOutbox out;
  Replica r(ReplicaOptions{1, {1, 2}, /*max_batch_bytes=*/300}, reg, journal, out);
  for (std::uint64_t e = 0; e < 40; ++e) {
    ASSERT_TRUE(r.write(Key{e, 8}, [&](ComponentValue& v) { return add_member(v, 1, e); }).ok());
  }
  ASSERT_TRUE(r.commit(0).ok());
  r.gossip(0);
  const auto parts = out.decoded_to(2);
  ASSERT_GT(parts.size(), 5u);
  std::size_t entries = 0;
  for (const auto& p : parts) {
    EXPECT_EQ(p.delta.parts, parts.size());
    EXPECT_EQ(p.delta.seq, 2u);
    std::size_t bytes = 0;
    for (const auto& e : p.delta.entries)
      bytes += e.value.size() + 16;
    EXPECT_LE(bytes, 300u);
    entries += p.delta.entries.size();
  }
  EXPECT_EQ(entries, 40u);
}

// An outbox whose transport says how much of what was sent to a peer is still on its way.
class SlowLinkOutbox : public CapturingOutbox {
 public:
  std::size_t undelivered(ReplicaId to) const override { return to == 2 ? on_the_wire : 0; }
  std::size_t on_the_wire = 0;
};

std::size_t deltas_to(const CapturingOutbox& out, ReplicaId to) {
  std::size_t n = 0;
  for (const auto& m : out.decoded_to(to))
    n += m.kind == GossipMessage::Kind::kDelta;
  return n;
}

TEST(Replica, NeverResendsAnIntervalWhileItsLastSendingIsStillOnTheWayButDoesOnceTheLinkDrained) {
  const auto reg = ComponentRegistry::game_defaults();
  MemoryJournal journal;
  SlowLinkOutbox out;
  ReplicaOptions options{1, {1, 2}, /*max_batch_bytes=*/300};
  options.retransmit_ms = 500;
  Replica r(options, reg, journal, out);
  for (std::uint64_t e = 0; e < 40; ++e) {
    ASSERT_TRUE(r.write(Key{e, 8}, [&](ComponentValue& v) { return add_member(v, 1, e); }).ok());
  }
  ASSERT_TRUE(r.commit(0).ok());
  r.gossip(0);
  const std::size_t parts = deltas_to(out, 2);
  ASSERT_GT(parts, 1u);
  // A large interval the peer is still taking in, long past retransmit_ms: no copy behind it,
  // and nothing else on the link either.
  out.on_the_wire = 3;
  const std::size_t before = out.sent.size();
  r.gossip(600);
  r.gossip(1200);
  EXPECT_EQ(out.sent.size(), before);
  // Drained (the peer took it all in, or the transport dropped the session and what was on it),
  // and still no ack: the retransmission clock runs from when the link was last seen busy.
  out.on_the_wire = 0;
  r.gossip(1600);
  EXPECT_EQ(deltas_to(out, 2), parts);  // a heartbeat only: 400 ms since the link was busy
  r.gossip(1700);
  EXPECT_EQ(deltas_to(out, 2), 2 * parts);  // the whole interval again
  // A transport that cannot tell (0) resends on the plain timer, as before.
  r.gossip(2100);
  EXPECT_EQ(deltas_to(out, 2), 2 * parts);
  r.gossip(2200);
  EXPECT_EQ(deltas_to(out, 2), 3 * parts);
}

// Found by review: a region that commits every tick changes the interval every round, and the
// "no resend while undelivered" rule held only for an unchanged interval — so every round queued
// a new full copy of the backlog behind the link's window (up to 256 MiB per peer). Now, while
// parts of the last transmission still wait to go out, no new one is built, unless the peer
// acknowledged more since (the new one starts later; the transport drops what waits of the old).
class WindowedLinkOutbox : public CapturingOutbox {
 public:
  std::size_t undelivered(ReplicaId to) const override { return to == 2 ? in_flight + waiting : 0; }
  std::size_t parts_waiting(ReplicaId to) const override { return to == 2 ? waiting : 0; }
  std::size_t in_flight = 0, waiting = 0;
};

std::vector<DeltaBatch> delta_parts_to(const CapturingOutbox& out, ReplicaId to) {
  std::vector<DeltaBatch> parts;
  for (const auto& m : out.decoded_to(to)) {
    if (m.kind == GossipMessage::Kind::kDelta) parts.push_back(m.delta);
  }
  return parts;
}

TEST(Replica, BuildsNoNewTransmissionWhileTheLastOnesPartsWaitUnlessThePeerAcknowledgedMore) {
  const auto reg = ComponentRegistry::game_defaults();
  MemoryJournal journal;
  WindowedLinkOutbox out;
  Replica r(ReplicaOptions{1, {1, 2}, /*max_batch_bytes=*/300}, reg, journal, out);
  std::uint64_t id = 0;
  auto commit_a_group = [&](std::uint64_t now, int writes = 1) {
    for (int i = 0; i < writes; ++i, ++id) {
      ASSERT_TRUE(
          r.write(Key{id, 8}, [&](ComponentValue& v) { return add_member(v, 1, id); }).ok());
    }
    ASSERT_TRUE(r.commit(now).ok());
  };
  commit_a_group(0, 60);  // a burst, then one write per tick
  r.gossip(0);
  const auto first = delta_parts_to(out, 2);
  ASSERT_GT(first.size(), 2u);
  const std::uint64_t first_seq = first[0].seq;
  // The window took two parts; the rest wait. Fifty rounds, each after a commit: nothing new.
  out.in_flight = 2;
  out.waiting = first.size() - 2;
  for (std::uint64_t now = 50; now <= 2500; now += 50) {
    commit_a_group(now);
    r.gossip(now);
  }
  EXPECT_EQ(delta_parts_to(out, 2).size(), first.size());
  // Its parts all on the wire (in flight): a newer interval goes out behind them at once.
  out.in_flight = 3;
  out.waiting = 0;
  r.gossip(2550);
  auto parts = delta_parts_to(out, 2);
  ASSERT_GT(parts.size(), first.size());
  const DeltaBatch second = parts[first.size()];
  EXPECT_EQ(second.transmission, first[0].transmission + 1);
  EXPECT_EQ(second.seq, r.next_seq());
  EXPECT_EQ(parts.size(), first.size() + second.parts);
  // Its parts wait in turn: held again, until the peer acknowledges the first transmission.
  out.waiting = second.parts - 1;
  commit_a_group(2600);
  r.gossip(2600);
  EXPECT_EQ(delta_parts_to(out, 2).size(), parts.size());
  GossipMessage ack;
  ack.origin = 2;
  ack.kind = GossipMessage::Kind::kAck;
  ack.ack = first_seq;
  ASSERT_TRUE(r.receive(2, encode_message(ack), 2610));
  r.gossip(2650);
  parts = delta_parts_to(out, 2);
  ASSERT_GT(parts.size(), first.size() + second.parts);
  const DeltaBatch third = parts[first.size() + second.parts];
  EXPECT_EQ(third.transmission, second.transmission + 1);
  EXPECT_EQ(third.seq, r.next_seq());
  EXPECT_LT(third.parts, second.parts);  // without what the peer acknowledged
}

TEST(Replica, PeerBehindTheHorizonIsAskedForItsDigestAndGetsOnlyTheDiff) {
  const auto reg = ComponentRegistry::game_defaults();
  MemoryJournal journal;
  CapturingOutbox out;
  Replica r(ReplicaOptions{1, {1, 2, 3}, 1 << 20, /*max_buffer_groups=*/2}, reg, journal, out);
  for (std::uint64_t i = 0; i < 5; ++i) {
    ASSERT_TRUE(r.write(Key{i, 8}, [&](ComponentValue& v) { return add_member(v, 1, i); }).ok());
    ASSERT_TRUE(r.commit(i).ok());
  }
  EXPECT_EQ(r.stats(5).buffer_groups, 2u);  // capped: groups 1..3 are gone
  r.gossip(5);
  auto to2 = out.decoded_to(2);
  ASSERT_EQ(to2.size(), 1u);
  EXPECT_EQ(to2[0].kind, GossipMessage::Kind::kDigestRequest);
  // Peer 2 already holds keys 0 and 1 exactly, and a stale key 2.
  GossipMessage digest;
  digest.origin = 2;
  digest.kind = GossipMessage::Kind::kDigest;
  digest.digest = {{Key{0, 8}, value_digest(*r.store().get(Key{0, 8}))},
                   {Key{1, 8}, value_digest(*r.store().get(Key{1, 8}))},
                   {Key{2, 8}, 12345}};
  ASSERT_TRUE(r.receive(2, encode_message(digest), 6));
  out.sent.clear();
  r.gossip(6);
  to2 = out.decoded_to(2);
  ASSERT_EQ(to2.size(), 1u);
  EXPECT_TRUE(to2[0].delta.full_state);
  EXPECT_EQ(to2[0].delta.seq, 6u);
  std::vector<Key> sent_keys;
  for (const auto& e : to2[0].delta.entries)
    sent_keys.push_back(e.key);
  EXPECT_EQ(sent_keys, (std::vector<Key>{{2, 8}, {3, 8}, {4, 8}}));
  EXPECT_EQ(r.stats(6).peers.at(2).full_states_sent, 1u);
  EXPECT_EQ(r.stats(6).peers.at(3).digest_requests_sent, 1u);
  // Acks from both peers empty the buffer; an ack past next_seq is clamped.
  GossipMessage ack;
  ack.kind = GossipMessage::Kind::kAck;
  ack.ack = 1000;
  ack.origin = 2;
  r.receive(2, encode_message(ack), 7);
  ack.origin = 3;
  ack.ack = 6;
  r.receive(3, encode_message(ack), 7);
  const auto st = r.stats(7);
  EXPECT_EQ(st.buffer_groups, 0u);
  EXPECT_EQ(st.peers.at(2).acked, 6u);
  EXPECT_EQ(st.peers.at(2).lag_groups, 0u);
  // The two groups still buffered were acknowledged by both peers (the three dropped by the cap
  // never were): their commit → all-acked times are recorded, 4 and 3 ms.
  EXPECT_EQ(st.convergence_ms.count(), 2u);
  EXPECT_EQ(st.convergence_ms.quantile_bound(1.0), 5);
  // With nothing new, gossip is a heartbeat.
  out.sent.clear();
  r.gossip(8);
  ASSERT_EQ(out.decoded_to(3).size(), 1u);
  EXPECT_EQ(out.decoded_to(3)[0].kind, GossipMessage::Kind::kHeartbeat);
}

TEST(Replica, AnswersDigestRequestsFetchesAndResyncs) {
  const auto reg = ComponentRegistry::game_defaults();
  MemoryJournal journal;
  CapturingOutbox out;
  Replica r(ReplicaOptions{1, {1, 2}}, reg, journal, out);
  for (std::uint64_t i = 0; i < 3; ++i) {
    ASSERT_TRUE(r.write(Key{i, 8}, [&](ComponentValue& v) { return add_member(v, 1, i); }).ok());
  }
  ASSERT_TRUE(r.commit(0).ok());
  GossipMessage m;
  m.origin = 2;
  m.kind = GossipMessage::Kind::kDigestRequest;
  ASSERT_TRUE(r.receive(2, encode_message(m), 1));
  auto replies = out.decoded_to(2);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].kind, GossipMessage::Kind::kDigest);
  EXPECT_EQ(replies[0].digest, r.store().key_digests());
  out.sent.clear();
  m.kind = GossipMessage::Kind::kFetch;
  m.keys = {Key{1, 8}, Key{99, 8}};
  ASSERT_TRUE(r.receive(2, encode_message(m), 2));
  replies = out.decoded_to(2);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].delta.seq, 0u);  // nothing to acknowledge
  ASSERT_EQ(replies[0].delta.entries.size(), 1u);
  EXPECT_EQ(replies[0].delta.entries[0].key, (Key{1, 8}));
  // A fetch reply is joined but not acknowledged.
  out.sent.clear();
  crdt::Kills kills;
  kills.increment(2, 1);
  GossipMessage reply;
  reply.origin = 2;
  reply.kind = GossipMessage::Kind::kDelta;
  reply.delta.entries = {WireEntry{Key{7, 12}, crdt::encode(kills)}};
  ASSERT_TRUE(r.receive(2, encode_message(reply), 3));
  EXPECT_NE(r.store().get(Key{7, 12}), nullptr);
  EXPECT_TRUE(out.decoded_to(2).empty());
  // request_keys and request_resync go to every peer.
  r.request_keys({Key{4, 4}});
  r.request_resync();
  replies = out.decoded_to(2);
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0].kind, GossipMessage::Kind::kFetch);
  EXPECT_EQ(replies[1].kind, GossipMessage::Kind::kDigest);
  // A resync request is answered with everything.
  out.sent.clear();
  m.kind = GossipMessage::Kind::kResync;
  ASSERT_TRUE(r.receive(2, encode_message(m), 4));
  r.gossip(5);
  replies = out.decoded_to(2);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].delta.entries.size(), 4u);
}

// Commit parallelism on three threads of its own; counts the ranges run.
ParallelFor three_threads(std::atomic<int>& ranges) {
  return [&ranges](std::size_t n, const std::function<void(std::size_t, std::size_t)>& body) {
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < 3; ++i)
      threads.emplace_back([&, i] {
        body(n * i / 3, n * (i + 1) / 3);
        ++ranges;
      });
    for (auto& t : threads)
      t.join();
  };
}

TEST(Replica, ACommitEncodedOnSeveralThreadsJournalsTheSameRecord) {
  const auto reg = ComponentRegistry::game_defaults();
  MemoryJournal serial_journal, parallel_journal;
  CapturingOutbox out;
  Replica serial(ReplicaOptions{1, {1}}, reg, serial_journal, out);
  Replica parallel(ReplicaOptions{1, {1}}, reg, parallel_journal, out);
  std::atomic<int> ranges{0};
  parallel.set_commit_parallelism(three_threads(ranges));
  for (Replica* r : {&serial, &parallel}) {
    for (std::uint64_t e = 1; e <= 2000; ++e) {  // past the size that goes parallel
      ASSERT_TRUE(r->write(Key{e, 8}, [&](ComponentValue& v) { return add_member(v, 1, e); }).ok());
    }
    ASSERT_TRUE(r->commit(0).ok());
  }
  EXPECT_EQ(ranges.load(), 3);
  const auto& a = serial_journal.records();
  const auto& b = parallel_journal.records();
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  ASSERT_EQ(a[0].entries.size(), 2000u);
  std::map<Key, std::string> sa, sb;
  for (const auto& e : a[0].entries)
    sa[e.key] = e.value;
  for (const auto& e : b[0].entries)
    sb[e.key] = e.value;
  EXPECT_EQ(sa, sb);
}

// A region tick computes its writes on private copies and hands them over prepared
// (write_prepared): the store, the journaled group and the change list must be exactly what the
// same mutations through write() give — for keys already stored (moved in on lent threads) and new
// ones alike.
TEST(Replica, PreparedWritesLeaveTheSameStateGroupAndChangesAsWrites) {
  const auto reg = ComponentRegistry::game_defaults();
  MemoryJournal journal_a, journal_b, journal_c;
  CapturingOutbox out;
  Replica a(ReplicaOptions{1, {1}}, reg, journal_a, out);
  Replica b(ReplicaOptions{1, {1}}, reg, journal_b, out);
  Replica c(ReplicaOptions{1, {1}}, reg, journal_c, out);
  std::atomic<int> ranges{0};
  b.set_commit_parallelism(three_threads(ranges));
  for (Replica* r : {&a, &b, &c}) {  // keys 1..50 exist before the tick
    for (std::uint64_t e = 1; e <= 50; ++e)
      ASSERT_TRUE(r->write(Key{e, 8}, [&](ComponentValue& v) { return add_member(v, 1, e); }).ok());
    ASSERT_TRUE(r->commit(0).ok());
    r->watch_changes();
    (void)r->take_changes();
  }
  // The tick: members added to keys 26..75 (half stored already, half new), and kills counted.
  auto mutate_for = [](std::uint64_t e) -> std::pair<Key, Replica::Mutator> {
    if (e % 5 == 0) {
      return {Key{e, 12}, [](ComponentValue& v) -> std::optional<ComponentValue> {
                return std::get<crdt::Kills>(v).increment(1, 2);
              }};
    }
    return {Key{e, 8}, [e](ComponentValue& v) { return add_member(v, 1, 1000 + e); }};
  };
  for (std::uint64_t e = 26; e <= 75; ++e) {
    auto [key, mutate] = mutate_for(e);
    ASSERT_TRUE(a.write(key, mutate).ok());
  }
  std::vector<std::vector<Replica::PreparedWrite>> cells(4);
  for (std::uint64_t e = 26; e <= 75; ++e) {
    auto [key, mutate] = mutate_for(e);
    const ComponentValue* stored = b.store().get(key);
    ComponentValue value = stored ? *stored : reg.bottom(key.component);
    auto delta = mutate(value);
    ASSERT_TRUE(delta.has_value());
    cells[e % 4].push_back(Replica::PreparedWrite{key, std::move(value), std::move(*delta)});
  }
  std::vector<std::vector<Replica::PreparedWrite>*> batches;
  for (auto& c : cells)
    batches.push_back(&c);
  // The same once more into c, which is told to keep the keys off its change list.
  std::vector<std::vector<Replica::PreparedWrite>> c_cells = cells;
  std::vector<std::vector<Replica::PreparedWrite>*> c_batches;
  for (auto& cell : c_cells)
    c_batches.push_back(&cell);
  b.write_prepared(batches);
  EXPECT_EQ(ranges.load(), 3);
  c.write_prepared(c_batches, /*note_changes=*/false);
  auto changes_a = a.take_changes(), changes_b = b.take_changes();
  std::sort(changes_a.begin(), changes_a.end());
  std::sort(changes_b.begin(), changes_b.end());
  EXPECT_EQ(changes_a, changes_b);
  EXPECT_EQ(changes_b.size(), 50u);
  EXPECT_TRUE(c.take_changes().empty());
  ASSERT_TRUE(a.commit(1).ok());
  ASSERT_TRUE(b.commit(1).ok());
  ASSERT_TRUE(c.commit(1).ok());
  EXPECT_EQ(a.store().digest(), b.store().digest());
  EXPECT_EQ(a.store().digest(), c.store().digest());
  // Member sets 1..75 but for the kill counters 55, 60, ..., 75; kills of 30, 35, ..., 75.
  EXPECT_EQ(b.store().entries().size(), 70u + 10u);
  ASSERT_EQ(journal_a.records().size(), 2u);
  ASSERT_EQ(journal_b.records().size(), 2u);
  ASSERT_EQ(journal_c.records().size(), 2u);
  std::map<Key, std::string> ga, gb, gc;
  for (const auto& e : journal_a.records()[1].entries)
    ga[e.key] = e.value;
  for (const auto& e : journal_b.records()[1].entries)
    gb[e.key] = e.value;
  for (const auto& e : journal_c.records()[1].entries)
    gc[e.key] = e.value;
  EXPECT_EQ(ga.size(), 50u);
  EXPECT_EQ(ga, gb);
  EXPECT_EQ(ga, gc);
}

// A group holds each write_prepared() call's deltas as they came: a key prepared in two ticks (and
// written once more through write()) before one commit is in the group three times. Replaying
// the record, or gossiping a long interval (merged per key first), gives the state the same
// writes give through write().
TEST(Replica, AKeyPreparedTwiceBeforeACommitIsJournaledTwiceAndJoinsToTheSameState) {
  const auto reg = ComponentRegistry::game_defaults();
  MemoryJournal journal, reference_journal;
  CapturingOutbox out;
  Replica a(ReplicaOptions{1, {2}}, reg, journal, out);
  Replica reference(ReplicaOptions{1, {}}, reg, reference_journal, out);
  const Key key{7, 8};
  auto prepare = [&](std::uint64_t member) {
    const ComponentValue* stored = a.store().get(key);
    ComponentValue value = stored ? *stored : reg.bottom(key.component);
    auto delta = add_member(value, 1, member);
    std::vector<Replica::PreparedWrite> batch;
    batch.push_back(Replica::PreparedWrite{key, std::move(value), std::move(*delta)});
    a.write_prepared({&batch});
    ASSERT_TRUE(
        reference.write(key, [&](ComponentValue& v) { return add_member(v, 1, member); }).ok());
  };
  prepare(100);
  prepare(101);
  ASSERT_TRUE(a.write(key, [](ComponentValue& v) { return add_member(v, 1, 102); }).ok());
  ASSERT_TRUE(reference.write(key, [](ComponentValue& v) { return add_member(v, 1, 102); }).ok());
  ASSERT_EQ(a.commit(1).value(), std::optional<std::uint64_t>{1});
  ASSERT_TRUE(reference.commit(1).ok());
  ASSERT_EQ(journal.records().size(), 1u);
  const auto& entries = journal.records()[0].entries;
  EXPECT_EQ(std::count_if(entries.begin(), entries.end(),
                          [&](const WireEntry& e) { return e.key == key; }),
            3);
  EXPECT_EQ(value_as<crdt::GuildMembers>(*a.store().get(key)).size(), 3u);
  EXPECT_EQ(a.store().digest(), reference.store().digest());

  MemoryJournal replay_journal;
  Replica replayed(ReplicaOptions{1, {}}, reg, replay_journal, out);
  replayed.restore(journal.records()[0]);
  EXPECT_EQ(replayed.store().digest(), a.store().digest());
  EXPECT_EQ(replayed.next_seq(), 2u);

  // Four more groups: peer 2 has acknowledged none of the five, so they go out merged per key.
  for (std::uint64_t member = 103; member < 107; ++member) {
    prepare(member);
    ASSERT_TRUE(a.commit(member).ok());
  }
  a.gossip(1000);
  const auto sent = out.decoded_to(2);
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_EQ(sent[0].kind, GossipMessage::Kind::kDelta);
  ASSERT_EQ(sent[0].delta.entries.size(), 1u);  // the key once
  MemoryJournal peer_journal;
  CapturingOutbox peer_out;
  Replica peer(ReplicaOptions{2, {1}}, reg, peer_journal, peer_out);
  ASSERT_TRUE(peer.receive(1, out.sent.back().second, 1000));
  EXPECT_EQ(value_as<crdt::GuildMembers>(*peer.store().get(key)).size(), 7u);
  EXPECT_EQ(peer.store().digest(), a.store().digest());
}

TEST(Replica, JournalFailureKeepsTheGroupOpenAndUnacknowledged) {
  struct FailingJournal : Journal {
    crdt::Result<bool> append(const JournalRecord&) override {
      return crdt::make_error(crdt::ErrorCode::kInvalidState, "disk full");
    }
  } journal;
  const auto reg = ComponentRegistry::game_defaults();
  CapturingOutbox out;
  Replica r(ReplicaOptions{1, {1, 2}}, reg, journal, out);
  ASSERT_TRUE(r.write(Key{1, 8}, [&](ComponentValue& v) { return add_member(v, 1, 1); }).ok());
  auto c = r.commit(0);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message, "disk full");
  EXPECT_EQ(r.next_seq(), 1u);
  EXPECT_EQ(r.stats(0).journal_failures, 1u);
}

TEST(Replica, FailureDetectorMarksSilentPeersDown) {
  const auto reg = ComponentRegistry::game_defaults();
  MemoryJournal journal;
  CapturingOutbox out;
  Replica r(ReplicaOptions{1, {1, 2}}, reg, journal, out);
  EXPECT_FALSE(r.stats(0).peers.at(2).up);  // never heard
  GossipMessage hb;
  hb.origin = 2;
  hb.kind = GossipMessage::Kind::kHeartbeat;
  for (std::uint64_t t = 0; t <= 1000; t += 50)
    r.receive(2, encode_message(hb), t);
  EXPECT_TRUE(r.stats(1000).peers.at(2).up);
  EXPECT_TRUE(r.stats(1200).peers.at(2).up);
  EXPECT_FALSE(r.stats(3000).peers.at(2).up);  // 2 s of silence at a 50 ms rhythm
}

}  // namespace
}  // namespace worldline::replica

namespace worldline::replica {
namespace {

// Found by the node simulation (seed 420 of 2026-12-07): a record whose bounded-counter spend
// got its rights from an earlier record that was quarantined was refused on replay — and lost for
// good when the node had crashed before gossiping it (no peer held it). A spend that is not valid
// on replay is kept and joined once the state it needs is back (here: from a later record, as
// after a repair that ended before a crash), and written into the next group, so the journal
// holds it after the state it needs.
TEST(Replica, ASpendNotValidOnReplayIsJoinedOnceItsRightsAreBack) {
  const auto reg = ComponentRegistry::game_defaults();
  MemoryJournal j1;
  CapturingOutbox o1;
  Replica r1(ReplicaOptions{1, {1, 2}}, reg, j1, o1);
  const Key gold{7, 4};
  ASSERT_TRUE(r1.write(gold, [](ComponentValue& v) -> std::optional<ComponentValue> {
                  return Boxed<crdt::Gold>(value_as<crdt::Gold>(v).increment(1, 10));
                }).ok());
  ASSERT_TRUE(r1.commit(0).ok());  // record 1: the grant
  ASSERT_TRUE(r1.write(gold, [](ComponentValue& v) -> std::optional<ComponentValue> {
                  auto spend = value_as<crdt::Gold>(v).decrement(1, 3);
                  return Boxed<crdt::Gold>(std::move(spend).value());
                }).ok());
  ASSERT_TRUE(r1.commit(0).ok());  // record 2: the spend
  ASSERT_EQ(j1.records().size(), 2u);

  MemoryJournal j2;
  CapturingOutbox o2;
  Replica again(ReplicaOptions{1, {1, 2}}, reg, j2, o2);
  again.restore(j1.records()[1]);  // the spend first: no rights yet
  EXPECT_EQ(again.store().get(gold), nullptr) << "an invalid counter joined";
  again.restore(j1.records()[0]);  // the grant
  EXPECT_EQ(value_as<crdt::Gold>(*again.store().get(gold)).value(), 10);
  again.rejoin_replay_held();
  EXPECT_EQ(value_as<crdt::Gold>(*again.store().get(gold)).value(), 7) << "the spend was lost";
  ASSERT_TRUE(again.commit(0).ok());  // into the next group
  ASSERT_EQ(j2.records().size(), 1u);
  bool holds_gold = false;
  for (const auto& e : j2.records()[0].entries)
    holds_gold = holds_gold || e.key == gold;
  EXPECT_TRUE(holds_gold);
  again.rejoin_replay_held();  // nothing held any more: nothing changes
  EXPECT_EQ(value_as<crdt::Gold>(*again.store().get(gold)).value(), 7);
}

}  // namespace
}  // namespace worldline::replica
