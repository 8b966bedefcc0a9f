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

}  // namespace
}  // namespace worldline::gateway
