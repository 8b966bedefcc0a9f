// The gossip messages' wire form (round trips, bad part numbers refused) and the peers' login
// proof (an HMAC of the secret, the nonce and the replica id).
#include "replica/messages.h"

#include <gtest/gtest.h>

#include "replica/rpc_node.h"

namespace worldline::replica {
namespace {

TEST(Login, ProofDependsOnSecretNonceAndReplica) {
  const std::string p = login_proof("secret-1", "nonce", 2);
  EXPECT_EQ(p.size(), 32u);
  EXPECT_EQ(p, login_proof("secret-1", "nonce", 2));
  EXPECT_NE(p, login_proof("secret-2", "nonce", 2));
  EXPECT_NE(p, login_proof("secret-1", "nonce!", 2));
  EXPECT_NE(p, login_proof("secret-1", "nonce", 3));
}

TEST(Messages, RoundTripAndRejectBadPartNumbers) {
  GossipMessage m;
  m.origin = 7;
  m.kind = GossipMessage::Kind::kDelta;
  m.delta = DeltaBatch{42, 1, 3, true, 7, {WireEntry{Key{9, 2}, "bytes"}}};
  EXPECT_EQ(decode_message(encode_message(m)).value(), m);
  m.delta.part = 3;
  auto bad = decode_message(encode_message(m));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "gossip: delta part 3 of 3");
  GossipMessage d;
  d.origin = 1;
  d.kind = GossipMessage::Kind::kDigest;
  d.digest = {{Key{1, 2}, 3}, {Key{4, 5}, 6}};
  EXPECT_EQ(decode_message(encode_message(d)).value(), d);
  GossipMessage f;
  f.origin = 1;
  f.kind = GossipMessage::Kind::kFetch;
  f.keys = {Key{1, 2}};
  EXPECT_EQ(decode_message(encode_message(f)).value(), f);
  JournalRecord rec{5, {WireEntry{Key{1, 1}, "x"}}};
  auto back = decode_record(encode_record(rec));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back.value().seq, 5u);
  EXPECT_EQ(back.value().entries, rec.entries);
  EXPECT_FALSE(decode_record("junk").ok());
}

}  // namespace
}  // namespace worldline::replica
