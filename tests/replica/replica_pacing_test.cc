// The Replica's sending pace against a slow link: no resend while the last sending is still on
// its way, and no new transmission built while the last one's parts wait, unless the peer
// acknowledged more.
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

}  // namespace
}  // namespace worldline::replica
