// ClientSession without sockets: the rate limits are per player, so a player's second session on
// the same gateway shares the first one's budget instead of bringing a fresh one.
#include "gateway/client_session.h"

#include <gtest/gtest.h>

#include <string>

#include "gateway/player_budgets.h"

namespace worldline::gateway {
namespace {

const TokenKey kKey{TokenKey::Kind::kHs256, "a test secret 0123"};
constexpr std::int64_t kNow = 1'800'000'000;

struct CountingRegion : RegionPort {
  SessionId attach(std::uint64_t, std::shared_ptr<SessionSink>) override { return ++attached; }
  void submit(SessionId, int, region::Action, std::uint64_t) override { ++submitted; }
  void detach(SessionId) override { ++detached; }
  std::uint64_t attached = 0, detached = 0, submitted = 0;
};

struct Sink : SessionSink {
  void deliver(ServerFrame frame) override {
    if (auto* r = std::get_if<RejectFrame>(&frame); r && r->reason == "rate_limited") ++limited;
  }
  void close(int, std::string) override {}
  int limited = 0;
};

std::string hello(std::uint64_t player) {
  TokenClaims c;
  c.player = player;
  c.expires_at = kNow + 3600;
  return R"({"type":"hello","token":")" + mint_token(c, kKey).value() + R"("})";
}

std::string action(std::uint64_t seq) {
  return R"({"type":"action","seq":)" + std::to_string(seq) +
         R"(,"kind":"move","args":{"x":1,"y":0,"z":1}})";
}

TEST(ClientSession, ActionRateLimitIsPerPlayerNotPerSession) {
  SessionLimits limits;
  limits.actions_per_s = 10;
  limits.action_burst = 10;
  limits.max_violations = 1000;
  PlayerBudgets budgets(limits);
  CountingRegion region;
  auto sink1 = std::make_shared<Sink>(), sink2 = std::make_shared<Sink>();
  ClientSession first(limits, kKey, "r", 20, region, budgets, sink1);
  ClientSession second(limits, kKey, "r", 20, region, budgets, sink2);
  const std::uint64_t t = 5000;  // no refill: every frame at the same instant
  first.on_frame(hello(7), false, t, kNow);
  second.on_frame(hello(7), false, t, kNow);
  ASSERT_TRUE(first.authenticated() && second.authenticated());
  std::uint64_t seq = 1;
  for (int i = 0; i < 6; ++i)
    first.on_frame(action(seq++), false, t, kNow);
  for (int i = 0; i < 6; ++i)
    second.on_frame(action(seq++), false, t, kNow);
  // One burst of 10 for the player, whichever session sends: 2 of the second session's refused.
  EXPECT_EQ(region.submitted, 10u);
  EXPECT_EQ(sink1->limited, 0);
  EXPECT_EQ(sink2->limited, 2);

  // Another player has a budget of its own.
  auto sink3 = std::make_shared<Sink>();
  ClientSession other(limits, kKey, "r", 20, region, budgets, sink3);
  other.on_frame(hello(8), false, t, kNow);
  other.on_frame(action(1), false, t, kNow);
  EXPECT_EQ(region.submitted, 11u);
  EXPECT_EQ(sink3->limited, 0);
}

TEST(ClientSession, ReconnectingDoesNotRefillThePlayersBudget) {
  SessionLimits limits;
  limits.actions_per_s = 10;
  limits.action_burst = 10;
  limits.max_violations = 1000;
  PlayerBudgets budgets(limits);
  CountingRegion region;
  const std::uint64_t t = 5000;
  std::uint64_t seq = 1;
  {
    ClientSession s(limits, kKey, "r", 20, region, budgets, std::make_shared<Sink>());
    s.on_frame(hello(7), false, t, kNow);
    for (int i = 0; i < 10; ++i)
      s.on_frame(action(seq++), false, t, kNow);
  }  // closed: detached, the budget kept (it has not refilled)
  EXPECT_EQ(budgets.players(), 1u);
  auto sink = std::make_shared<Sink>();
  ClientSession again(limits, kKey, "r", 20, region, budgets, sink);
  again.on_frame(hello(7), false, t + 100, kNow);
  again.on_frame(action(seq++), false, t + 100, kNow);  // 0.1 s: one action's worth refilled
  again.on_frame(action(seq++), false, t + 100, kNow);
  EXPECT_EQ(region.submitted, 11u);
  EXPECT_EQ(sink->limited, 1);
}

// The cheat detection's throttle response: for its duration the player's actions are held to
// the throttle's rate (a burst of one) whatever its budget, refused as rate_limited with a detail
// saying why; afterwards its own budget applies again. Other players are untouched.
TEST(ClientSession, AThrottledPlayerIsHeldToTheThrottlesRateUntilItEnds) {
  SessionLimits limits;
  limits.actions_per_s = 100;
  limits.action_burst = 100;
  limits.max_violations = 1000;
  PlayerBudgets budgets(limits);
  CountingRegion region;
  struct Detail : SessionSink {
    void deliver(ServerFrame frame) override {
      if (auto* r = std::get_if<RejectFrame>(&frame)) details.push_back(r->detail);
    }
    void close(int, std::string) override {}
    std::vector<std::string> details;
  };
  auto sink = std::make_shared<Detail>(), other_sink = std::make_shared<Detail>();
  ClientSession s(limits, kKey, "r", 20, region, budgets, sink);
  ClientSession other(limits, kKey, "r", 20, region, budgets, other_sink);
  const std::uint64_t t = 5000;
  s.on_frame(hello(7), false, t, kNow);
  other.on_frame(hello(8), false, t, kNow);
  budgets.throttle(7, 2, t + 10'000, t);  // 2 actions/s for 10 s
  EXPECT_TRUE(budgets.throttled(7, t));
  EXPECT_FALSE(budgets.throttled(8, t));
  std::uint64_t seq = 1;
  for (int i = 0; i < 5; ++i)
    s.on_frame(action(seq++), false, t, kNow);
  EXPECT_EQ(region.submitted, 1u);  // a burst of one
  ASSERT_EQ(sink->details.size(), 4u);
  EXPECT_EQ(sink->details[0], "throttled by the cheat detection for a while");
  s.on_frame(action(seq++), false, t + 500, kNow);  // half a second: one more at 2/s
  s.on_frame(action(seq++), false, t + 500, kNow);
  EXPECT_EQ(region.submitted, 2u);
  for (int i = 0; i < 5; ++i)
    other.on_frame(action(i + 1), false, t, kNow);
  EXPECT_EQ(region.submitted, 7u);  // the other player's budget: all five
  EXPECT_TRUE(other_sink->details.empty());
  // After the throttle: the player's own budget (100/s) again.
  EXPECT_FALSE(budgets.throttled(7, t + 10'000));
  for (int i = 0; i < 5; ++i)
    s.on_frame(action(seq++), false, t + 10'000, kNow);
  EXPECT_EQ(region.submitted, 12u);
}

// A throttle set while the player has no session waits for it, and outlasts the budgets'
// clean-up of players who left.
TEST(ClientSession, AThrottleOutlastsThePlayersAbsence) {
  SessionLimits limits;
  limits.actions_per_s = 100;
  limits.action_burst = 100;
  limits.max_violations = 1000;
  PlayerBudgets budgets(limits);
  CountingRegion region;
  const std::uint64_t t = 5000;
  budgets.throttle(7, 1, t + 60'000, t);
  // Many joins later in player 7's shard (players ≡ 7 mod 16), 0.1 s apart: its clean-up of
  // players who left has run three times, and dropped the refilled budgets, not the throttled one.
  std::uint64_t when = t + 1'000;
  for (std::uint64_t p = 7 + 16; p < 7 + 16 * 200; p += 16, when += 100) {
    budgets.join(p, when);
    budgets.leave(p);
  }
  EXPECT_LT(budgets.players(), 100u);  // of 200: the clean-up ran
  auto sink = std::make_shared<Sink>();
  ClientSession s(limits, kKey, "r", 20, region, budgets, sink);
  s.on_frame(hello(7), false, t + 30'000, kNow);
  s.on_frame(action(1), false, t + 30'000, kNow);
  s.on_frame(action(2), false, t + 30'000, kNow);
  EXPECT_EQ(region.submitted, 1u);
  EXPECT_EQ(sink->limited, 1);
}

}  // namespace
}  // namespace worldline::gateway
