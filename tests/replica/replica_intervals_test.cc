// The Replica's protocol through its public interface, with exact outcomes: what it refuses
// (unknown peers, forged origins, garbage), when it acknowledges an interval (every part arrived,
// no entry refused; bounded-counter spends listed before their rights), peers' stamps merged into
// its clock, and large intervals split into bounded parts.
#include "replica/replica.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <thread>

#include "crdt/codec.h"
#include "tests/replica/replica_test_support.h"

namespace worldline::replica {
namespace {

using testing::add_member;
using testing::CapturingOutbox;
using ::testing::HasSubstr;

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

}  // namespace
}  // namespace worldline::replica
