// RegionHost without sockets: two regions, each with its own host, grab one item in the same tick;
// both grant it locally, and once their deltas meet exactly one player keeps it and the other gets
// a late `conflict_lost` reject and, in the next state frames, the world as it is. Also: attaching
// moves the player's authority here with an epoch bump.
#include "gateway/region_host.h"
#include "tests/support/outboxes.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace worldline::gateway {
namespace {

namespace json = boost::json;

using testing::QueueOutbox;

struct RecordingSink : SessionSink {
  void deliver(ServerFrame frame) override {
    frames.push_back(json::parse(encode(WireFormat::kJson, frame)));
  }
  void close(int code, std::string) override { closed = code; }
  std::vector<json::value> frames;
  int closed = 0;
  std::vector<json::value> of_type(const char* type) const {
    std::vector<json::value> out;
    for (const auto& f : frames) {
      if (f.at("type").as_string() == type) out.push_back(f);
    }
    return out;
  }
};

struct Region {
  replica::ComponentRegistry registry = replica::ComponentRegistry::game_defaults();
  replica::MemoryJournal journal;
  QueueOutbox outbox;
  crdt::ManualClock wall;
  crdt::HlcClock clock;
  replica::Replica world;
  region::GameRules rules{region::GameConfig{}};
  region::RegionPipeline pipeline;
  RegionHost host;
  std::uint64_t t = 0;

  Region(replica::ReplicaId id, std::uint64_t start_ms)
      : wall(start_ms),
        clock(id, wall, 10'000),
        world(replica::ReplicaOptions{id, {1, 2}}, registry, journal, outbox),
        pipeline(region::PipelineOptions{}, region::PriorityRules::defaults(), rules, world, clock),
        host(HostOptions{"r" + std::to_string(id), 20, 60, {0, 0, 0}, 0}, pipeline, rules, world,
             clock) {}

  void tick() {
    wall.advance(50);
    host.tick(++t, wall.now_ms());
    ASSERT_TRUE(world.commit(wall.now_ms()).ok());
    host.publish(wall.now_ms());
  }
  void grab(SessionId s, std::uint64_t seq, crdt::EntityId item) {
    region::Action a;
    a.client_seq = seq;
    a.target = item;
    host.submit(s, static_cast<int>(region::ActionKind::kPickup), a, wall.now_ms());
  }
};

void exchange(Region& x, Region& y) {
  testing::exchange(x.world, x.outbox, y.world, y.outbox, x.wall.now_ms());
}

TEST(RegionHost, TwoRegionsGrabbingOneItemAtOnceLeaveOneOwnerAndTellTheOther) {
  Region eu(1, 1'000'000), us(2, 1'000'005);  // eu's clock is behind: its claim is earlier
  auto alice = std::make_shared<RecordingSink>(), bob = std::make_shared<RecordingSink>();
  const SessionId a = eu.host.attach(11, alice), b = us.host.attach(22, bob);
  eu.tick();
  us.tick();
  const crdt::EntityId relic = 900'100;
  eu.grab(a, 1, relic);
  us.grab(b, 1, relic);
  eu.tick();
  us.tick();
  // Both regions granted it: both players were acked, neither rejected.
  EXPECT_EQ(alice->of_type("state").back().at("ack").as_int64(), 1);
  EXPECT_EQ(bob->of_type("state").back().at("ack").as_int64(), 1);
  EXPECT_TRUE(alice->of_type("reject").empty());
  EXPECT_TRUE(bob->of_type("reject").empty());

  exchange(eu, us);
  eu.tick();
  us.tick();
  for (Region* r : {&eu, &us}) {
    const auto& owner = std::get<crdt::UniqueItemOwner>(*r->world.store().get({relic, 5}));
    EXPECT_EQ(owner.owner(), 11u);
  }
  ASSERT_EQ(bob->of_type("reject").size(), 1u);
  const json::value lost = bob->of_type("reject")[0];
  EXPECT_EQ(lost.at("seq").as_int64(), 1);
  EXPECT_EQ(lost.at("reason").as_string(), "conflict_lost");
  EXPECT_NE(std::string(lost.at("detail").as_string()).find("player 11"), std::string::npos);
  EXPECT_TRUE(alice->of_type("reject").empty());
  EXPECT_EQ(us.host.stats().claims_lost, 1u);
  EXPECT_EQ(eu.host.stats().claims_lost, 0u);
}

TEST(RegionHost, AttachingMovesAuthorityHereWithAnEpochBump) {
  Region eu(1, 1'000'000), us(2, 1'000'000);
  auto sink = std::make_shared<RecordingSink>();
  eu.host.attach(7, sink);
  eu.tick();
  auto authority = [](Region& r) {
    return *std::get<crdt::EntityAuthority>(*r.world.store().get({7, kAuthorityComponent})).get();
  };
  EXPECT_EQ(authority(eu), (crdt::Authority{1, 1}));
  exchange(eu, us);
  us.host.attach(7, std::make_shared<RecordingSink>());  // a failover: the player resumes in us
  us.tick();
  EXPECT_EQ(authority(us), (crdt::Authority{2, 2}));
  exchange(eu, us);
  EXPECT_EQ(authority(eu), (crdt::Authority{2, 2}));
  EXPECT_EQ(us.host.stats().authority_taken, 1u);
}

// A pickup refused at ingress (here: aimed at the player itself, `bad_target`) has no outcome; its
// claim watch entry used to be made anyway and never removed, one leaked per refusal.
TEST(RegionHost, PickupsRefusedAtIngressLeaveNoClaimWatchBehind) {
  Region eu(1, 1'000'000);
  auto sink = std::make_shared<RecordingSink>();
  const SessionId s = eu.host.attach(7, sink);
  eu.tick();
  for (std::uint64_t seq = 1; seq <= 50; ++seq)
    eu.grab(s, seq, 7);     // the actor itself
  eu.grab(s, 51, 900'200);  // one real claim, granted and watched
  eu.tick();
  ASSERT_EQ(sink->of_type("reject").size(), 50u);
  EXPECT_EQ(sink->of_type("reject")[0].at("reason").as_string(), "bad_target");
  EXPECT_EQ(sink->of_type("state").back().at("ack").as_int64(), 51);
  EXPECT_EQ(eu.host.stats().claims_watched, 1u);  // the granted one; was 51
}

}  // namespace
}  // namespace worldline::gateway
