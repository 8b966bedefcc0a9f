#include "crdt/causal_context.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

namespace worldline::crdt {
namespace {

TEST(CausalContext, ContiguousDotsCompactIntoTheVersionVector) {
  CausalContext cc;
  cc.insert({1, 1});
  cc.insert({1, 3});  // gap: stays in the cloud
  EXPECT_EQ(cc.to_string(), "{vv:[1:1] cloud:[(1:3)]}");
  cc.insert({1, 2});  // fills the gap: 1..3 contiguous
  EXPECT_EQ(cc.to_string(), "{vv:[1:3] cloud:[]}");
  EXPECT_TRUE(cc.cloud().empty());
  EXPECT_EQ(cc.versions().at(1), 3u);
  cc.insert({1, 2});  // already seen: no change
  EXPECT_EQ(cc.dot_count(), 3u);
}

TEST(CausalContext, ContainsChecksVectorAndCloud) {
  CausalContext cc;
  cc.insert({2, 1});
  cc.insert({2, 5});
  EXPECT_TRUE(cc.contains({2, 1}));
  EXPECT_TRUE(cc.contains({2, 5}));
  EXPECT_FALSE(cc.contains({2, 3}));
  EXPECT_FALSE(cc.contains({3, 1}));
  EXPECT_FALSE(cc.empty());
  EXPECT_TRUE(CausalContext{}.empty());
}

TEST(CausalContext, NextDotFollowsTheHighestCounterSeen) {
  CausalContext cc;
  EXPECT_EQ(cc.next_dot(4), (Dot{4, 1}));
  EXPECT_EQ(cc.next_dot(4), (Dot{4, 2}));
  cc.insert({4, 9});
  EXPECT_EQ(cc.max_counter(4), 9u);
  EXPECT_EQ(cc.next_dot(4), (Dot{4, 10}));
  EXPECT_EQ(cc.max_counter(5), 0u);
  cc.insert({5, 7});
  EXPECT_EQ(cc.max_counter(5), 7u);
  EXPECT_EQ(cc.max_counter(4), 10u);
  EXPECT_EQ(cc.max_counter(3), 0u);
}

TEST(CausalContext, JoinIsUnionInCanonicalForm) {
  CausalContext a, b;
  a.insert({1, 1});
  a.insert({1, 3});
  b.insert({1, 1});
  b.insert({1, 2});
  b.insert({2, 2});
  a.join(b);
  EXPECT_EQ(a.to_string(), "{vv:[1:3] cloud:[(2:2)]}");
  CausalContext c;
  c.insert({2, 1});
  a.join(c);
  EXPECT_EQ(a.to_string(), "{vv:[1:3,2:2] cloud:[]}");
}

TEST(CausalContext, ForEachDotVisitsEveryDot) {
  CausalContext cc;
  cc.insert({1, 1});
  cc.insert({1, 2});
  cc.insert({2, 4});
  std::vector<Dot> seen;
  cc.for_each_dot([&](const Dot& d) { seen.push_back(d); });
  EXPECT_EQ(seen, (std::vector<Dot>{{1, 1}, {1, 2}, {2, 4}}));
  EXPECT_EQ(cc.dot_count(), 3u);
}

TEST(CausalContext, DotCountSaturates) {
  CausalContext cc;
  ASSERT_TRUE(CausalContext::from_parts({{1, UINT64_MAX - 1}, {2, 5}}, {}, &cc));
  EXPECT_EQ(cc.dot_count(), UINT64_MAX);
}

TEST(CausalContext, FromPartsRestoresCanonicalFormAndRejectsZero) {
  CausalContext cc;
  ASSERT_TRUE(CausalContext::from_parts({{1, 2}}, {{1, 1}, {1, 3}, {1, 5}}, &cc));
  EXPECT_EQ(cc.to_string(), "{vv:[1:3] cloud:[(1:5)]}");
  CausalContext untouched;
  untouched.insert({9, 1});
  EXPECT_FALSE(CausalContext::from_parts({{1, 0}}, {}, &untouched));
  EXPECT_FALSE(CausalContext::from_parts({}, {{1, 0}}, &untouched));
  EXPECT_EQ(untouched.to_string(), "{vv:[9:1] cloud:[]}");
}

TEST(CausalContext, InsertingDotZeroIsABug) {
  CausalContext cc;
  EXPECT_THROW(cc.insert({1, 0}), std::invalid_argument);
}

TEST(Dot, PrintsReplicaAndCounter) {
  EXPECT_EQ((Dot{3, 14}).to_string(), "(3:14)");
}

}  // namespace
}  // namespace worldline::crdt
