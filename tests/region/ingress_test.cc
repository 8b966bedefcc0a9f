// Malformed actions of every kind are refused with their reason and counted; good ones are
// stamped with strictly increasing HLC timestamps.
#include "region/ingress.h"

#include <gtest/gtest.h>

#include <limits>

namespace worldline::region {
namespace {

struct Fixture {
  crdt::ManualClock wall{1'000'000};
  crdt::HlcClock clock{1, wall, 1000};
  Ingress ingress{IngressLimits{}, clock};
};

Action base(ActionKind kind) {
  Action a;
  a.actor = 7;
  a.kind = kind;
  a.client_seq = 1;
  a.client_time_ms = 1'000'000;
  a.target = 9;
  return a;
}

TEST(Ingress, RefusesEveryMalformedClassWithItsReasonAndCountsIt) {
  Fixture f;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  struct Case {
    int raw_kind;
    Action action;
    RejectReason reason;
    std::string detail;
  };
  std::vector<Case> cases;
  cases.push_back({42, base(ActionKind::kMove), RejectReason::kUnknownKind, "action kind 42"});
  cases.push_back({-1, base(ActionKind::kMove), RejectReason::kUnknownKind, "action kind -1"});
  Action m = base(ActionKind::kMove);
  m.position = {nan, 0, 0};
  cases.push_back({2, m, RejectReason::kNonFiniteCoordinate, "move target is not finite"});
  m.position = {0, inf, 0};
  cases.push_back({2, m, RejectReason::kNonFiniteCoordinate, "move target is not finite"});
  m.position = {0, 0, 20'000};
  cases.push_back(
      {2, m, RejectReason::kOutOfWorld, "move target (0,0,20000) is outside the world"});
  Action aimed = base(ActionKind::kAttack);  // built without the parsers (which refuse it)
  aimed.aim = crdt::Vec3{3, 0, 4};
  cases.push_back(
      {1, aimed, RejectReason::kNonFiniteCoordinate, "aim is not a finite unit direction"});
  Action at = base(ActionKind::kAttack);
  at.target = 0;
  cases.push_back({1, at, RejectReason::kBadTarget, "no target"});
  at.target = 7;
  cases.push_back({1, at, RejectReason::kBadTarget, "an actor cannot target itself"});
  Action chat = base(ActionKind::kChat);
  chat.text.assign(600, 'x');
  cases.push_back({5, chat, RejectReason::kTextTooLong, "600 bytes > 512"});
  Action seq0 = base(ActionKind::kEmote);
  seq0.client_seq = 0;
  cases.push_back({6, seq0, RejectReason::kBadSequence, "client seq must start at 1"});
  Action skew = base(ActionKind::kChat);
  skew.client_time_ms = 1'000'000 + 25ull * 3600 * 1000;
  cases.push_back(
      {5, skew, RejectReason::kClockSkew, "client clock 90000000 ms away from the region's"});
  for (auto& c : cases) {
    auto r = f.ingress.admit(c.raw_kind, c.action, 1'000'000);
    ASSERT_TRUE(r.has_value()) << c.detail;
    EXPECT_EQ(r->reason, c.reason) << c.detail;
    EXPECT_EQ(r->detail, c.detail);
  }
  const auto& counts = f.ingress.rejected();
  EXPECT_EQ(counts[static_cast<int>(RejectReason::kUnknownKind)], 2u);
  EXPECT_EQ(counts[static_cast<int>(RejectReason::kNonFiniteCoordinate)], 3u);
  EXPECT_EQ(counts[static_cast<int>(RejectReason::kOutOfWorld)], 1u);
  EXPECT_EQ(counts[static_cast<int>(RejectReason::kBadTarget)], 2u);
  EXPECT_EQ(counts[static_cast<int>(RejectReason::kTextTooLong)], 1u);
  EXPECT_EQ(counts[static_cast<int>(RejectReason::kBadSequence)], 1u);
  EXPECT_EQ(counts[static_cast<int>(RejectReason::kClockSkew)], 1u);
  EXPECT_EQ(f.ingress.admitted(), 0u);
  f.ingress.count(RejectReason::kDuplicate);
  EXPECT_EQ(f.ingress.rejected()[static_cast<int>(RejectReason::kDuplicate)], 1u);
}

TEST(Ingress, AdmitsValidActionsWithIncreasingStamps) {
  Fixture f;
  crdt::Hlc last;
  for (int k = 0; k < kActionKinds; ++k) {
    Action a = base(static_cast<ActionKind>(k));
    a.position = {1, 2, 3};
    a.text = "gg";
    auto r = f.ingress.admit(k, a, 1'000'000);
    ASSERT_FALSE(r.has_value()) << to_string(static_cast<ActionKind>(k)) << ": " << r->detail;
    EXPECT_EQ(a.kind, static_cast<ActionKind>(k));
    EXPECT_LT(last, a.stamp);
    last = a.stamp;
  }
  EXPECT_EQ(f.ingress.admitted(), static_cast<std::uint64_t>(kActionKinds));
}

TEST(RejectReason, HasStableNames) {
  EXPECT_STREQ(to_string(RejectReason::kNonFiniteCoordinate), "non_finite_coordinate");
  EXPECT_STREQ(to_string(RejectReason::kDuplicate), "duplicate");
  EXPECT_STREQ(to_string(RejectReason::kClockSkew), "clock_skew");
  EXPECT_STREQ(to_string(RejectReason::kOutOfWorld), "out_of_world");
}

}  // namespace
}  // namespace worldline::region
