#include "crdt/policies.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <vector>

namespace worldline::crdt {
namespace {

TEST(MaxWins, GreatestValueWins) {
  MaxWins<std::int64_t> a, b;
  a.set(5);
  b.set(9);
  a.set(3);
  EXPECT_EQ(*join(a, b).get(), 9);
  EXPECT_EQ(*join(b, a).get(), 9);
  EXPECT_EQ(a.to_string(), "MaxWins{5}");
  EXPECT_EQ((MaxWins<std::int64_t>{}).to_string(), "MaxWins{}");
}

TEST(MinWins, LeastValueWins) {
  MinWins<std::int64_t> a, b;
  a.set(5);
  b.set(-9);
  EXPECT_EQ(*join(a, b).get(), -9);
  EXPECT_EQ(join(b, a).to_string(), "MinWins{-9}");
}

TEST(MaxWins, AuthorityHandOffBumpsTheEpoch) {
  MaxWins<Authority> eu, us;
  us.join(eu.set(Authority{1, 1}));         // region 1 owns the entity at epoch 1
  auto takeover = us.set(Authority{2, 2});  // failover: region 2, epoch 2
  auto stale = eu.set(Authority{1, 1});     // the old owner re-asserts, concurrently
  eu.join(takeover);
  us.join(stale);
  EXPECT_EQ(*eu.get(), (Authority{2, 2}));
  EXPECT_EQ(eu, us);
}

TEST(FirstClaimWins, ALocalClaimOnAClaimedItemIsRefused) {
  FirstClaimWins<std::uint64_t> sword;
  EXPECT_FALSE(sword.claimed());
  EXPECT_EQ(sword.to_string(), "FirstClaimWins{unclaimed}");
  ASSERT_TRUE(sword.claim(7, Hlc{100, 0, 1}).ok());
  auto second = sword.claim(8, Hlc{99, 0, 2});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ErrorCode::kAlreadyClaimed);
  EXPECT_EQ(second.error().message, "already claimed by 7 at 100.0@1");
  EXPECT_EQ(*sword.owner(), 7u);
}

TEST(FirstClaimWins, EarlierConcurrentClaimWinsOnBothSides) {
  FirstClaimWins<std::uint64_t> eu, ap;
  auto d_eu = eu.claim(1001, Hlc{1060, 0, 1}).value();
  auto d_ap = ap.claim(3003, Hlc{1000, 0, 3}).value();
  eu.join(d_ap);
  ap.join(d_eu);
  EXPECT_EQ(*eu.owner(), 3003u);
  EXPECT_EQ(eu, ap);
  EXPECT_EQ(eu.winning_claim()->at, (Hlc{1000, 0, 3}));
  EXPECT_FALSE(FirstClaimWins<std::uint64_t>{}.owner().has_value());
}

// Claims made on many replicas, joined in any order and grouping: every replica ends with the
// same owner, and it is the claim with the earliest stamp.
RC_GTEST_PROP(FirstClaimWinsProps, EveryReplicaPicksTheSameWinnerWhateverTheMergeOrder, ()) {
  const int n = *rc::gen::inRange(2, 8);
  std::vector<FirstClaimWins<std::uint64_t>> replicas(n);
  std::vector<Hlc> stamps;
  for (int i = 0; i < n; ++i) {
    const Hlc at{*rc::gen::inRange<std::uint64_t>(0, 5), *rc::gen::inRange<std::uint32_t>(0, 3),
                 static_cast<NodeId>(i + 1)};
    RC_ASSERT(replicas[i].claim(static_cast<std::uint64_t>(100 + i), at).ok());
    stamps.push_back(at);
  }
  const auto earliest = std::min_element(stamps.begin(), stamps.end()) - stamps.begin();
  // Random gossip until everyone has heard from everyone (a ring pass guarantees it at the end).
  const int rounds = *rc::gen::inRange(0, 40);
  for (int i = 0; i < rounds; ++i) {
    replicas[*rc::gen::inRange(0, n)].join(replicas[*rc::gen::inRange(0, n)]);
  }
  for (int pass = 0; pass < 2; ++pass) {
    for (int i = 0; i < n; ++i)
      replicas[(i + 1) % n].join(replicas[i]);
  }
  for (const auto& r : replicas) {
    RC_ASSERT(r.owner() == std::optional<std::uint64_t>(100 + earliest));
  }
}

}  // namespace
}  // namespace worldline::crdt
