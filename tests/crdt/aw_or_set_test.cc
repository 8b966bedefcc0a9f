#include "crdt/aw_or_set.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

namespace worldline::crdt {
namespace {

TEST(AwOrSet, AddConcurrentWithRemoveWins) {
  AwOrSet<std::string> eu, us;
  us.join(eu.add(1, "haste"));
  auto removal = eu.remove("haste");
  auto readd = us.add(2, "haste");  // concurrent with the removal
  eu.join(readd);
  us.join(removal);
  EXPECT_EQ(eu, us);
  EXPECT_TRUE(eu.contains("haste"));
  EXPECT_EQ(eu.size(), 1u);
}

TEST(AwOrSet, RemoveOfObservedAddRemoves) {
  AwOrSet<std::int64_t> a, b;
  b.join(a.add(1, 42));
  a.join(b.remove(42));
  EXPECT_FALSE(a.contains(42));
  EXPECT_EQ(a, b);
}

TEST(AwOrSet, RemovingAnAbsentElementIsAnEmptyDelta) {
  AwOrSet<std::int64_t> s;
  auto d = s.remove(7);
  EXPECT_TRUE(d.is_bottom());
  EXPECT_EQ(d, (AwOrSet<std::int64_t>{}));
}

TEST(AwOrSet, ReAddSupersedesTheOlderDot) {
  AwOrSet<std::int64_t> s;
  s.add(1, 5);
  auto d = s.add(1, 5);
  EXPECT_EQ(s.to_string(), "AwOrSet{5:{(1:2)}} {vv:[1:2] cloud:[]}");
  EXPECT_EQ(d.to_string(), "AwOrSet{5:{(1:2)}} {vv:[1:2] cloud:[]}");
}

TEST(AwOrSet, RemovalsLeaveNoTombstones) {
  AwOrSet<std::int64_t> a, b;
  for (std::int64_t i = 0; i < 1000; ++i)
    b.join(a.add(1, i));
  for (std::int64_t i = 0; i < 1000; ++i)
    b.join(a.remove(i));
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(b.size(), 0u);
  // Everything that is left of 2000 operations is one version-vector entry.
  EXPECT_EQ(b.context().to_string(), "{vv:[1:1000] cloud:[]}");
  EXPECT_TRUE(b.store().entries.empty());
}

TEST(AwOrSet, ResetRemovesEverythingObserved) {
  AwOrSet<std::int64_t> a, b;
  b.join(a.add(1, 1));
  b.join(a.add(1, 2));
  auto late = b.add(2, 3);
  auto reset = a.reset();
  a.join(late);
  b.join(reset);
  EXPECT_EQ(a.elements(), (std::vector<std::int64_t>{3}));
  EXPECT_EQ(a, b);
}

TEST(AwOrSet, EmptySetsJoinToEmpty) {
  AwOrSet<std::int64_t> a, b;
  a.join(b);
  EXPECT_TRUE(a.is_bottom());
  EXPECT_TRUE(a.elements().empty());
}

// The indexed small-delta join and the general join are the same function.
RC_GTEST_PROP(AwOrSetProps, SmallDeltaJoinEqualsGeneralJoin, ()) {
  AwOrSet<std::int64_t> big, other;
  const int n = *rc::gen::inRange(20, 200);
  for (int i = 0; i < n; ++i) {
    auto d = big.add(1, i);
    if (*rc::gen::arbitrary<bool>()) other.join(d);
  }
  const int ops = *rc::gen::inRange(1, 30);
  for (int i = 0; i < ops; ++i) {
    const auto e = *rc::gen::inRange<std::int64_t>(0, n + 10);
    const auto d = *rc::gen::arbitrary<bool>() ? other.add(2, e) : other.remove(e);
    // Reference: the general dot-store join, computed directly.
    auto store = big.store();
    join_store(store, big.context(), d.store(), d.context());
    auto context = big.context();
    context.join(d.context());
    const AwOrSet<std::int64_t> reference(std::move(store), std::move(context));
    const bool small = d.context().dot_count() + d.store().entries.size() < big.size();
    big.join(d);
    RC_TAG(small ? "indexed path" : "general path");
    RC_ASSERT(big == reference);
  }
}

}  // namespace
}  // namespace worldline::crdt
