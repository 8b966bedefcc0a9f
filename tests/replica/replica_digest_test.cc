// The Replica's repair paths: a peer behind the buffer's horizon is asked for its digest and gets
// only the diff; digest requests, fetches and resyncs answered.
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

}  // namespace
}  // namespace worldline::replica
