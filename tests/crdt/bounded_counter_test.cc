#include "crdt/bounded_counter.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <array>
#include <stdexcept>

namespace worldline::crdt {
namespace {

TEST(BoundedCounter, DecrementNeedsLocalRights) {
  BoundedCounter gold(0);
  gold.increment(1, 50);
  auto refused = gold.decrement(2, 1);  // replica 2 holds no rights
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kInsufficientRights);
  EXPECT_EQ(refused.error().message, "replica 2 holds 0 rights, decrement needs 1");
  auto ok = gold.decrement(1, 50);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(gold.value(), 0);
  EXPECT_FALSE(gold.decrement(1, 1).ok());
}

TEST(BoundedCounter, TransferMovesRights) {
  BoundedCounter gold(0), other(0);
  other.join(gold.increment(1, 100));
  auto t = gold.transfer(1, 2, 40);
  ASSERT_TRUE(t.ok());
  other.join(t.value());
  EXPECT_EQ(other.rights(1), 60);
  EXPECT_EQ(other.rights(2), 40);
  EXPECT_TRUE(other.decrement(2, 40).ok());
  EXPECT_FALSE(other.decrement(2, 1).ok());
  EXPECT_EQ(other.value(), 60);
  EXPECT_EQ(other.to_string(), "BoundedCounter{60 >= 0 rights:[1:60,2:0]}");
}

TEST(BoundedCounter, TransferRefusals) {
  BoundedCounter gold(0);
  gold.increment(1, 10);
  auto self = gold.transfer(1, 1, 5);
  ASSERT_FALSE(self.ok());
  EXPECT_EQ(self.error().code, ErrorCode::kInvalidArgument);
  auto too_much = gold.transfer(1, 2, 11);
  ASSERT_FALSE(too_much.ok());
  EXPECT_EQ(too_much.error().message, "replica 1 holds 10 rights, transfer needs 11");
  EXPECT_EQ(gold.rights(1), 10);
}

TEST(BoundedCounter, ZeroAmountsAreEmptyDeltas) {
  BoundedCounter gold(3);
  EXPECT_EQ(gold.increment(1, 0), BoundedCounter(3));
  EXPECT_EQ(gold.decrement(1, 0).value(), BoundedCounter(3));
  EXPECT_EQ(gold.transfer(1, 2, 0).value(), BoundedCounter(3));
  EXPECT_EQ(gold.value(), 3);
  EXPECT_EQ(gold.bound(), 3);
}

TEST(BoundedCounter, JoiningDifferentBoundsIsABug) {
  BoundedCounter a(0), b(1);
  EXPECT_THROW(a.join(b), std::logic_error);
}

TEST(BoundedCounter, ATransferDeltaAloneIsNotWellFormed) {
  BoundedCounter gold(0);
  gold.increment(1, 10);
  auto t = gold.transfer(1, 2, 4).value();
  EXPECT_FALSE(t.well_formed());  // rights of replica 1 look like -4 without the increment
  EXPECT_TRUE(gold.well_formed());
  BoundedCounter self(0, {}, {}, {{{1, 1}, 3}});
  EXPECT_FALSE(self.well_formed());
}

// The law of the type: three replicas making random concurrent decrements, transfers and merges
// never see — nor produce by any join — a value below the bound.
RC_GTEST_PROP(BoundedCounterProps, NeverBelowBoundAcrossThreeReplicas, ()) {
  const auto bound = *rc::gen::inRange<std::int64_t>(-100, 100);
  std::array<BoundedCounter, 3> r{BoundedCounter(bound), BoundedCounter(bound),
                                  BoundedCounter(bound)};
  const int steps = *rc::gen::inRange(1, 150);
  for (int i = 0; i < steps; ++i) {
    const int at = *rc::gen::inRange(0, 3);
    const ReplicaId id = static_cast<ReplicaId>(at + 1);
    const auto n = *rc::gen::inRange<std::uint64_t>(0, 30);
    switch (*rc::gen::inRange(0, 5)) {
      case 0:
        r[at].increment(id, n);
        break;
      case 1:
      case 2:
        (void)r[at].decrement(id, n);
        break;
      case 3:
        (void)r[at].transfer(id, static_cast<ReplicaId>(*rc::gen::inRange(1, 4)), n);
        break;
      default:
        r[at].join(r[*rc::gen::inRange(0, 3)]);
    }
    for (const auto& c : r) {
      RC_ASSERT(c.value() >= bound);
      RC_ASSERT(c.well_formed());
    }
  }
  const auto all = join(join(r[0], r[1]), r[2]);
  RC_ASSERT(all.value() >= bound);
  RC_ASSERT(all.well_formed());
}

}  // namespace
}  // namespace worldline::crdt
