#include <gtest/gtest.h>

#include "crdt/gcounter.h"

namespace worldline::crdt {
namespace {

TEST(GCounter, IncrementReturnsTheReplicasNewTotal) {
  GCounter c;
  auto d1 = c.increment(1, 5);
  auto d2 = c.increment(1, 2);
  EXPECT_EQ(d1.entries(), (GCounter::Entries{{1, 5}}));
  EXPECT_EQ(d2.entries(), (GCounter::Entries{{1, 7}}));
  EXPECT_EQ(c.value(), 7u);
  EXPECT_EQ(c.contribution(1), 7u);
  EXPECT_EQ(c.contribution(2), 0u);
  EXPECT_EQ(c.increment(1, 0), GCounter{});  // nothing to say
}

TEST(GCounter, JoinTakesPointwiseMax) {
  GCounter a, b;
  a.increment(1, 5);
  b.increment(1, 3);
  b.increment(2, 4);
  a.join(b);
  EXPECT_EQ(a.value(), 9u);
  EXPECT_EQ(a.to_string(), "GCounter{9 [1:5,2:4]}");
  EXPECT_EQ(GCounter{}.to_string(), "GCounter{0 []}");
}

TEST(PNCounter, ConcurrentHitsFromTwoRegionsBothCount) {
  PNCounter eu, us;
  auto spawn = eu.increment(1, 100);
  us.join(spawn);
  auto hit_eu = eu.decrement(1, 30);
  auto hit_us = us.decrement(2, 45);
  eu.join(hit_us);
  us.join(hit_eu);
  EXPECT_EQ(eu.value(), 25);
  EXPECT_EQ(eu, us);
  EXPECT_EQ(eu.positive().value(), 100u);
  EXPECT_EQ(eu.negative().value(), 75u);
  EXPECT_EQ(eu.to_string(), "PNCounter{25 +GCounter{100 [1:100]} -GCounter{75 [1:30,2:45]}}");
}

TEST(PNCounter, ValueCanGoNegative) {
  PNCounter c;
  c.decrement(3, 7);
  EXPECT_EQ(c.value(), -7);
}

}  // namespace
}  // namespace worldline::crdt
