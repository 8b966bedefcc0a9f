// RegionApp on its own: what it sets up when the node loop starts it on a recovered replica.
#include "app/region_app.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "crdt/components.h"
#include "region/anticheat/flag_record.h"
#include "region/director/npc.h"
#include "replica/journal.h"
#include "tests/support/outboxes.h"

namespace worldline::app {
namespace {

// The detector inline, so that a run is the same every time (its thread would make which group
// a flag lands in depend on scheduling).
RegionAppOptions inline_detector() {
  RegionAppOptions o;
  o.detector_thread = false;
  return o;
}

// Found by the node simulation (seed 186 of 2026-12-06): a node restarting with a wall clock
// behind the stamps in its recovered state — its own earlier writes, stamped after a peer's clock
// that runs ahead — stamped its new writes older than those, so a player's last acknowledged move
// lost to its previous position under LWW. The region's clock now starts past every recovered
// stamp (within the skew bound).
TEST(RegionApp, TheClockStartsPastEveryStampOfTheRecoveredState) {
  const replica::ComponentRegistry registry = replica::ComponentRegistry::game_defaults();
  replica::MemoryJournal journal;
  testing::QueueOutbox outbox;
  replica::Replica world(replica::ReplicaOptions{1, {1, 2}}, registry, journal, outbox);
  const crdt::Hlc ahead{1'000'000 + 3'000, 7, 2};  // a peer's stamp, 3 s ahead of our clock
  ASSERT_TRUE(world
                  .write(replica::Key{42, 1},
                         [&](replica::ComponentValue& v) -> std::optional<replica::ComponentValue> {
                           return std::get<crdt::Position>(v).assign(crdt::Vec3{1, 0, 1}, ahead);
                         })
                  .ok());
  crdt::ManualClock wall(1'000'000);
  RegionApp app(inline_detector(), wall);
  ASSERT_TRUE(app.start(world));
  EXPECT_GT(app.clock().now(), ahead);
}

}  // namespace
}  // namespace worldline::app

namespace worldline::app {
namespace {

// Found by review: start() follows recovered stamps only within the skew bound (10 s), the bound
// meant for peers' clocks. This node's own stamps are beyond it after a restart whose wall clock
// stepped back further than that (a fast clock corrected by NTP at boot): the region then stamps
// its players' moves older than the ones it acknowledged before the restart, and every such
// move loses under LWW — here and, once gossiped, everywhere — until the wall clock catches up.
// HLC invariant 1 (crdt/hlc.h: now() strictly increasing even when the physical clock steps
// backwards) breaks across the restart.
TEST(RegionApp, TheClockStartsPastItsOwnStampsAfterTheWallClockSteppedBackBeyondTheSkewBound) {
  const replica::ComponentRegistry registry = replica::ComponentRegistry::game_defaults();
  replica::MemoryJournal journal;
  testing::QueueOutbox outbox;
  replica::Replica world(replica::ReplicaOptions{1, {1, 2}}, registry, journal, outbox);
  const crdt::Hlc own{1'000'000 + 12'000, 0, 1};  // this node's write, before the step back
  ASSERT_TRUE(world
                  .write(replica::Key{42, 1},
                         [&](replica::ComponentValue& v) -> std::optional<replica::ComponentValue> {
                           return std::get<crdt::Position>(v).assign(crdt::Vec3{1, 0, 1}, own);
                         })
                  .ok());
  crdt::ManualClock wall(1'000'000);  // 12 s behind it; the skew bound is 10 s
  RegionApp app(inline_detector(), wall);
  ASSERT_TRUE(app.start(world));
  const crdt::Hlc next = app.clock().now();
  EXPECT_GT(next, own) << "a move stamped " << next.to_string()
                       << " loses to the one acknowledged before, stamped " << own.to_string();
}

}  // namespace
}  // namespace worldline::app

namespace worldline::app {
namespace {

struct NullSink : gateway::SessionSink {
  void deliver(gateway::ServerFrame) override {}
  void close(int, std::string) override {}
};

// The detector runs on the region's real path (RegionApp wires it into the pipeline), and what it
// raises is kept in the flagged player's anticheat_flags set, in a group like any write — so it is
// journaled, replicated and readable in any region. Here a client emoting exactly every 400 ms of
// its clock (a bot's timing) is flagged, and one with human timing is not.
TEST(RegionApp, AFlagRaisedByTheDetectorIsKeptInTheFlaggedPlayersSet) {
  const replica::ComponentRegistry registry = replica::ComponentRegistry::game_defaults();
  replica::MemoryJournal journal;
  testing::QueueOutbox outbox;
  replica::Replica world(replica::ReplicaOptions{1, {1}}, registry, journal, outbox);
  crdt::ManualClock wall(1'765'000'000'000);
  RegionAppOptions options = inline_detector();
  options.host.region_name = "r1";
  RegionApp app(options, wall);
  ASSERT_TRUE(app.start(world));
  const auto bot = app.host().attach(7, std::make_shared<NullSink>());
  const auto human = app.host().attach(8, std::make_shared<NullSink>());
  std::uint64_t seq_bot = 0, seq_human = 0, next_bot = wall.now_ms(), next_human = wall.now_ms();
  const std::uint64_t human_gaps[] = {310, 520, 440, 780, 350, 610, 290, 900, 470, 380, 650};
  for (int t = 0; t < 800; ++t) {  // 40 s
    wall.advance(50);
    const std::uint64_t now = wall.now_ms();
    if (now >= next_bot) {
      region::Action a;
      a.client_seq = ++seq_bot;
      a.client_time_ms = next_bot;
      a.text = "o/";
      app.host().submit(bot, static_cast<int>(region::ActionKind::kEmote), a, now);
      next_bot += 400;
    }
    if (now >= next_human) {
      region::Action a;
      a.client_seq = ++seq_human;
      a.client_time_ms = next_human;
      a.text = "gg";
      app.host().submit(human, static_cast<int>(region::ActionKind::kEmote), a, now);
      next_human += human_gaps[seq_human % std::size(human_gaps)];
    }
    app.tick(world, now);
    ASSERT_TRUE(world.commit(now).ok());
    app.after_commit(world, true, std::nullopt, now);
  }
  EXPECT_EQ(app.flags_recorded(), 1u);
  const replica::ComponentValue* v =
      world.store().get(replica::Key{7, region::anticheat::kFlagsComponent});
  ASSERT_NE(v, nullptr);
  const auto elements = replica::value_as<crdt::Buffs>(*v).elements();
  ASSERT_EQ(elements.size(), 1u);
  const auto flag = region::anticheat::parse_flag(*elements.begin());
  ASSERT_TRUE(flag.ok()) << flag.error().message;
  EXPECT_EQ(flag.value().player, 7u);
  EXPECT_GE(flag.value().confidence, 0.9);
  ASSERT_FALSE(flag.value().fired.empty());
  EXPECT_EQ(flag.value().fired[0].check, region::anticheat::Check::kBotTiming);
  EXPECT_EQ(flag.value().evidence.size(), region::anticheat::kEvidenceWindow);
  EXPECT_EQ(world.store().get(replica::Key{8, region::anticheat::kFlagsComponent}), nullptr);
}

}  // namespace
}  // namespace worldline::app

namespace worldline::app {
namespace {

struct QuietSink : gateway::SessionSink {
  void deliver(gateway::ServerFrame) override {}
  void close(int, std::string) override {}
};

// Runs a bot (player `bot` emoting every 400 ms of its clock) through `app` for 40 s of `wall`
// time, committing every tick: the detector flags it (bot_timing) once.
void run_bot(RegionApp& app, replica::Replica& world, crdt::ManualClock& wall, std::uint64_t bot) {
  const auto session = app.host().attach(bot, std::make_shared<QuietSink>());
  std::uint64_t seq = 0, next = wall.now_ms();
  for (int t = 0; t < 800; ++t) {
    wall.advance(50);
    const std::uint64_t now = wall.now_ms();
    if (now >= next) {
      region::Action a;
      a.client_seq = ++seq;
      a.client_time_ms = next;
      a.text = "o/";
      app.host().submit(session, static_cast<int>(region::ActionKind::kEmote), a, now);
      next += 400;
    }
    app.tick(world, now);
    ASSERT_TRUE(world.commit(now).ok());
    app.after_commit(world, true, std::nullopt, now);
  }
}

std::vector<std::uint64_t> flag_ids(const replica::Replica& world) {
  std::vector<std::uint64_t> ids;
  for (const auto& [key, value] : world.store().entries()) {
    if (key.component != region::anticheat::kFlagsComponent) continue;
    for (const std::string& line : replica::value_as<crdt::Buffs>(value).elements())
      ids.push_back(region::anticheat::parse_flag(line).value().id);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

// Flag ids never repeat across restarts (issue #16): the detector's own counter starts again at
// each start, so the region numbers its flags itself — its id above bit 48, below it past both
// its clock's ms × 16 and every id it kept — here with a wall clock set back an hour at the
// restart, which alone would give smaller ids.
TEST(RegionApp, FlagIdsNeverRepeatAcrossARestartWithTheWallClockSetBack) {
  const replica::ComponentRegistry registry = replica::ComponentRegistry::game_defaults();
  replica::MemoryJournal journal;
  testing::QueueOutbox outbox;
  replica::Replica world(replica::ReplicaOptions{3, {3}}, registry, journal, outbox);
  crdt::ManualClock wall(1'765'000'000'000);
  {
    RegionApp app(inline_detector(), wall);
    ASSERT_TRUE(app.start(world));
    run_bot(app, world, wall, 7);
  }
  const std::vector<std::uint64_t> before = flag_ids(world);
  ASSERT_EQ(before.size(), 1u);
  EXPECT_EQ(before[0] >> 48, 3u);  // the region
  EXPECT_GE(before[0] & ((std::uint64_t{1} << 48) - 1), std::uint64_t{1'765'000'000'000} << 4);
  crdt::ManualClock behind(1'765'000'000'000 - 3'600'000);
  RegionApp restarted(inline_detector(), behind);
  ASSERT_TRUE(restarted.start(world));
  run_bot(restarted, world, behind, 8);
  const std::vector<std::uint64_t> after = flag_ids(world);
  ASSERT_EQ(after.size(), 2u);
  EXPECT_EQ(after[0], before[0]);
  EXPECT_GT(after[1], before[0]);
  EXPECT_EQ(after[1] >> 48, 3u);
}

}  // namespace
}  // namespace worldline::app

namespace worldline::app {
namespace {

struct Silent : gateway::SessionSink {
  void deliver(gateway::ServerFrame) override {}
  void close(int, std::string) override {}
};

// The director on the region's real path: an event's participants are the players online here
// within its radius — not players who left (their entities stay in the world, positioned), nor
// items. Two players online at the spawn point hold a density trigger of 2 for 1 s; the instance
// starts and this region claims it (one region, so it spawns it). Once both leave, the area
// counts nobody, though both entities still stand there.
TEST(RegionApp, AnEventsParticipantsAreThePlayersOnlineHereWithinItsRadius) {
  const replica::ComponentRegistry registry = replica::ComponentRegistry::game_defaults();
  replica::MemoryJournal journal;
  testing::QueueOutbox outbox;
  replica::Replica world(replica::ReplicaOptions{1, {1}}, registry, journal, outbox);
  crdt::ManualClock wall(1'765'000'000'000);
  RegionAppOptions options = inline_detector();
  options.host.region_name = "r1";
  options.host.spawn_radius = 0;  // everyone at the origin
  auto catalog = region::director::parse_event_catalog(R"(
[[event]]
id = "camp"
trigger = { kind = "density", players = 2, for_s = 1 }
area = { x = 0, z = 0, radius = 50 }
[[event.tiers]]
npc_count = { base = 0, per_player = 1, floor = 1, cap = 10 }
objective = { base = 10, floor = 10, cap = 10 }
duration_s = { base = 600, floor = 600, cap = 600 }
)",
                                                       "test");
  ASSERT_TRUE(catalog.ok()) << catalog.error().message;
  options.events = catalog.value();
  RegionApp app(options, wall);
  ASSERT_TRUE(app.start(world));
  ASSERT_NE(app.director(), nullptr);
  const auto a = app.host().attach(7, std::make_shared<Silent>());
  const auto b = app.host().attach(8, std::make_shared<Silent>());
  auto run = [&](int ticks) {
    for (int t = 0; t < ticks; ++t) {
      wall.advance(50);
      const std::uint64_t now = wall.now_ms();
      app.tick(world, now);
      ASSERT_TRUE(world.commit(now).ok());
      app.after_commit(world, true, std::nullopt, now);
    }
  };
  run(60);  // 3 s: held from the first step, started a second later
  EXPECT_EQ(app.director()->players_in_areas().at("camp"), 2);
  ASSERT_EQ(app.director()->registry().running().size(), 1u);
  const auto& instance = app.director()->registry().running()[0];
  EXPECT_EQ(instance.npcs_requested(), 2u);  // one per participant
  EXPECT_EQ(RegionApp::event_spawner(world, instance.id()), std::optional<std::uint64_t>(1));
  app.host().detach(a);
  app.host().detach(b);
  run(40);  // 2 s: both gone
  EXPECT_EQ(app.director()->players_in_areas().at("camp"), 0);
  // Their entities still stand there, beside the instance's two NPCs (spawned by this region).
  const auto near = app.pipeline().within(0, 0, 50);
  EXPECT_EQ(std::count_if(near.begin(), near.end(), region::director::is_npc), 2);
  EXPECT_EQ(std::count_if(near.begin(), near.end(),
                          [](crdt::EntityId e) { return !region::director::is_npc(e); }),
            2);
}

// The forecast acting ahead, on the node: players arriving at +4 a second make the director
// expect their square to fill (10 s ahead, beyond the margin), and the partition holds the
// expectation; with `proactive` off, nothing is expected.
TEST(RegionApp, AFillingSquareIsExpectedAheadAndThePartitionHoldsItUnlessProactiveIsOff) {
  for (const bool proactive : {true, false}) {
    SCOPED_TRACE(proactive ? "proactive" : "reactive");
    const replica::ComponentRegistry registry = replica::ComponentRegistry::game_defaults();
    replica::MemoryJournal journal;
    testing::QueueOutbox outbox;
    replica::Replica world(replica::ReplicaOptions{1, {1}}, registry, journal, outbox);
    crdt::ManualClock wall(1'765'000'000'000);
    RegionAppOptions options = inline_detector();
    options.host.region_name = "r1";
    options.host.spawn_point = {100, 0, 100};
    options.host.spawn_radius = 0;
    // One square: a square counts its share (by area) of each leaf over it, and 80 players are
    // one leaf over the whole world, so a finer grid would spread them over every square.
    options.forecast_grid = 1;
    options.proactive = proactive;
    RegionApp app(options, wall);
    ASSERT_TRUE(app.start(world));
    for (int second = 0; second < 20; ++second) {
      for (int i = 0; i < 4; ++i)
        (void)app.host().attach(static_cast<std::uint64_t>(1000 + second * 4 + i),
                                std::make_shared<Silent>());
      for (int t = 0; t < 20; ++t) {
        wall.advance(50);
        const std::uint64_t now = wall.now_ms();
        app.tick(world, now);
        ASSERT_TRUE(world.commit(now).ok());
        app.after_commit(world, true, std::nullopt, now);
      }
    }
    ASSERT_GE(app.director()->stats().samples, 19u);
    if (proactive) {
      EXPECT_GE(app.expectations_made(), 5u);  // one a step once the forecast is trusted
      EXPECT_EQ(app.pipeline().stats().expectations_held, 1u);  // the same square, replaced
    } else {
      EXPECT_EQ(app.expectations_made(), 0u);
      EXPECT_EQ(app.pipeline().stats().expectations_held, 0u);
    }
  }
}

}  // namespace
}  // namespace worldline::app
