// World-event NPCs on a whole region (RegionApp in-process, memory journal, manual clock): the
// spawner region spawns the instance's NPCs with the lever's health; they chase and hit a player
// through the tick like any actor; players kill them, the event completes and its gold goes to
// them by damage dealt; between regions, only the settled winner of the spawn claims spawns the
// NPCs and pays (a region whose claim lost, or a partitioned one, spawns nothing).
#include <gtest/gtest.h>

#include <functional>

#include <memory>
#include <optional>
#include <string>

#include "app/region_app.h"
#include "crdt/components.h"
#include "region/director/npc.h"
#include "replica/journal.h"
#include "tests/support/outboxes.h"

namespace worldline::app {
namespace {

namespace director = region::director;
using director::npc_entity_id;

constexpr std::uint64_t kStartMs = 1'765'000'000'000;  // a whole number of 1000 s

// One event "camp" at the origin (radius 40: its NPCs stand on a ring of radius 10), `npcs` of
// them at twice the kind's health, objective: all of them, 400 gold. `schedule` is its trigger.
std::string camp(int npcs, const std::string& schedule, const std::string& more_levers = "") {
  const std::string n = std::to_string(npcs);
  return "[[event]]\nid = \"camp\"\ntrigger = { kind = \"schedule\", " + schedule +
         " }\narea = { x = 0, z = 0, radius = 40 }\nrewards = { gold = 400 }\ncooldown_s = "
         "3600\n\n[[event.tiers]]\nnpc_count = { base = " +
         n + ", floor = " + n + ", cap = " + n +
         " }\nnpc_health_mult = { base = 2, floor = 2, cap = 2 }\nobjective = { base = " + n +
         ", floor = " + n + ", cap = " + n +
         " }\nduration_s = { base = 600, floor = 600, cap = 600 }\n" + more_levers;
}
// At the first director step (a second in), then every second (cooling down meanwhile).
const char* const kAtOnce = "every_s = 1";
// At kStartMs + 5 s only (every 1000 s from 5 s past a whole 1000 s).
const char* const kAtFiveSeconds = "every_s = 1000, offset_s = 5";

struct Quiet : gateway::SessionSink {
  void deliver(gateway::ServerFrame) override {}
  void close(int, std::string) override {}
};

// One region: its replica on a memory journal, its app, a manual wall clock; tick() runs one
// tick of the node's loop (tick, commit, publish).
class Region {
 public:
  Region(replica::ReplicaId id, std::vector<replica::ReplicaId> all, std::uint64_t start_ms,
         const std::string& catalog, double flee_below = 0.25,
         const std::function<void(RegionAppOptions&)>& tweak = {})
      : wall(start_ms),
        world(replica::ReplicaOptions{id, std::move(all)}, registry_, journal_, outbox) {
    RegionAppOptions o;
    o.detector_thread = false;
    o.host.region_name = "r" + std::to_string(id);
    auto parsed = director::parse_event_catalog(catalog, "camp.toml");
    EXPECT_TRUE(parsed.ok()) << parsed.error().message;
    if (parsed.ok()) o.events = parsed.value();
    o.npcs.flee_below = flee_below;
    if (tweak) tweak(o);
    app = std::make_unique<RegionApp>(o, wall);
    EXPECT_TRUE(app->start(world));
  }

  void tick() {
    wall.advance(50);
    const std::uint64_t now = wall.now_ms();
    app->tick(world, now);
    ASSERT_TRUE(world.commit(now).ok());
    app->after_commit(world, true, std::nullopt, now);
  }
  // Ticks until an instance runs (at most `limit` ticks); its id, or 0.
  director::InstanceId tick_until_running(int limit = 200) {
    for (int i = 0; i < limit; ++i) {
      if (!app->director()->registry().running().empty()) break;
      tick();
    }
    const auto& running = app->director()->registry().running();
    return running.empty() ? 0 : running.front().id();
  }
  gateway::SessionId join(std::uint64_t player) {
    return app->host().attach(player, std::make_shared<Quiet>());
  }
  void attack(gateway::SessionId s, crdt::EntityId target, std::uint64_t seq) {
    region::Action a;
    a.kind = region::ActionKind::kAttack;
    a.client_seq = seq;
    a.client_time_ms = wall.now_ms();
    a.target = target;
    app->host().submit(s, static_cast<int>(a.kind), a, wall.now_ms());
  }
  std::int64_t health(crdt::EntityId e) const { return region::GameRules::health(world, e); }
  std::optional<crdt::Vec3> position(crdt::EntityId e) const {
    return region::GameRules::position(world, e);
  }
  std::int64_t gold(crdt::EntityId player) const {
    const replica::ComponentValue* v = world.store().get(replica::Key{player, kGoldComponent});
    return v ? replica::value_as<crdt::Gold>(*v).value() : 0;
  }

 private:
  const replica::ComponentRegistry registry_ = replica::ComponentRegistry::game_defaults();
  replica::MemoryJournal journal_;

 public:
  testing::QueueOutbox outbox;
  crdt::ManualClock wall;
  replica::Replica world;
  std::unique_ptr<RegionApp> app;
};

TEST(EventNpcs, TheSpawnerSpawnsNpcCountNpcsWithTheHealthLeversHealth) {
  Region r(1, {1}, kStartMs, camp(3, kAtOnce));
  const director::InstanceId id = r.tick_until_running();
  ASSERT_NE(id, 0u);
  EXPECT_EQ(RegionApp::event_spawner(r.world, id), std::optional<std::uint64_t>(1));
  EXPECT_EQ(r.app->npcs()->stats().spawned, 3u);
  EXPECT_EQ(r.app->npcs()->stats().alive, 3u);
  for (std::uint32_t i = 0; i < 3; ++i) {
    const crdt::EntityId npc = npc_entity_id(id, i);
    EXPECT_EQ(r.health(npc), 100) << i;  // 50 × npc_health_mult 2
    ASSERT_TRUE(r.position(npc)) << i;
    EXPECT_NEAR(std::hypot(r.position(npc)->x, r.position(npc)->z), 10, 1e-9) << i;
    const replica::ComponentValue* kind = r.world.store().get({npc, kNpcKindComponent});
    ASSERT_NE(kind, nullptr);
    EXPECT_EQ(replica::value_as<crdt::DisplayName>(*kind).values(),
              std::vector<std::string>{"grunt"});
  }
  EXPECT_FALSE(r.position(npc_entity_id(id, 3)));  // exactly npc_count
  r.tick();  // the pipeline places them at the next tick's start, like a player's spawn
  for (std::uint32_t i = 0; i < 3; ++i)
    EXPECT_TRUE(r.app->pipeline().cell_of_entity(npc_entity_id(id, i))) << i;
  const director::InstanceReading reading = EventNpcs::read(r.world, id);
  EXPECT_EQ(reading.npcs_alive, 3u);
  EXPECT_EQ(reading.objective_progress, 0);
}

TEST(EventNpcs, ElitesComeFirstWithTheEliteHealthMultiplier) {
  Region r(1, {1}, kStartMs, camp(3, kAtOnce, "elites = { base = 1, floor = 1, cap = 1 }\n"));
  const director::InstanceId id = r.tick_until_running();
  ASSERT_NE(id, 0u);
  auto kind = [&](std::uint32_t i) {
    const replica::ComponentValue* v =
        r.world.store().get({npc_entity_id(id, i), kNpcKindComponent});
    return v ? replica::value_as<crdt::DisplayName>(*v).values() : std::vector<std::string>{};
  };
  EXPECT_EQ(r.health(npc_entity_id(id, 0)), 300);  // 50 × 2 × elite 3
  EXPECT_EQ(kind(0), std::vector<std::string>{"elite"});
  for (std::uint32_t i = 1; i < 3; ++i) {
    EXPECT_EQ(r.health(npc_entity_id(id, i)), 100) << i;
    EXPECT_EQ(kind(i), std::vector<std::string>{"grunt"}) << i;
  }
}

TEST(EventNpcs, ARescaleThatAsksForMoreSpawnsThemWithTheNextIndices) {
  // One NPC plus one per participant, re-evaluated every second.
  Region r(1, {1}, kStartMs, R"([[event]]
id = "camp"
trigger = { kind = "schedule", every_s = 1 }
area = { x = 0, z = 0, radius = 40 }
cooldown_s = 3600
rescale_every_s = 1

[[event.tiers]]
npc_count = { base = 1, per_player = 1, floor = 1, cap = 5 }
objective = { base = 5, floor = 5, cap = 5 }
duration_s = { base = 600, floor = 600, cap = 600 }
)");
  const director::InstanceId id = r.tick_until_running();
  ASSERT_NE(id, 0u);
  EXPECT_EQ(r.app->npcs()->stats().spawned, 1u);
  r.join(7);  // a participant: the target becomes 2
  for (int i = 0; i < 60 && r.app->npcs()->stats().spawned < 2; ++i)
    r.tick();
  EXPECT_EQ(r.app->npcs()->stats().spawned, 2u);
  EXPECT_EQ(r.app->director()->registry().find(id)->npcs_requested(), 2u);
  EXPECT_EQ(r.health(npc_entity_id(id, 1)), 50);  // health lever 1 (its default)
  EXPECT_FALSE(r.position(npc_entity_id(id, 2)));
  for (int i = 0; i < 40; ++i)
    r.tick();  // no further rescale asks for more
  EXPECT_EQ(r.app->npcs()->stats().spawned, 2u);
}

TEST(EventNpcs, AnNpcChasesANearbyPlayerAndHitsItOncePerCooldown) {
  Region r(1, {1}, kStartMs, camp(1, kAtOnce));
  r.join(7);  // spawns at the origin, 10 from the NPC's spot
  const director::InstanceId id = r.tick_until_running();
  ASSERT_NE(id, 0u);
  const crdt::EntityId npc = npc_entity_id(id, 0);
  ASSERT_EQ(r.position(npc)->x, 10);
  ASSERT_EQ(r.health(7), 100);
  r.tick();  // a step of 5 towards the player
  EXPECT_DOUBLE_EQ(r.position(npc)->x, 5);
  r.tick();  // 3 more: it stops at half the attack range (2) from the player
  EXPECT_DOUBLE_EQ(r.position(npc)->x, 2);
  EXPECT_EQ(r.health(7), 100);
  r.tick();  // in range: a swing, the rules' attack_damage (10)
  EXPECT_EQ(r.health(7), 90);
  for (int i = 0; i < 9; ++i) {  // the NPC's cooldown: 10 ticks
    r.tick();
    EXPECT_EQ(r.health(7), 90) << "hit again " << i + 1 << " ticks after the first";
  }
  r.tick();
  EXPECT_EQ(r.health(7), 80);
  EXPECT_EQ(r.app->npcs()->stats().refused, 0u);
}

// An NPC's actions are the server's own: the anticheat never watches them (PlayersOnlyObserver)
// and the host answers them to nobody (no input_seq is written for an NPC).
TEST(EventNpcs, TheAnticheatAndTheHostLeaveTheNpcsActionsAlone) {
  Region r(1, {1}, kStartMs, camp(1, kAtOnce));
  const auto alice = r.join(7);
  const director::InstanceId id = r.tick_until_running();
  ASSERT_NE(id, 0u);
  const crdt::EntityId npc = npc_entity_id(id, 0);
  region::Action step;
  step.kind = region::ActionKind::kMove;
  step.client_seq = 1;
  step.client_time_ms = r.wall.now_ms();
  step.position = crdt::Vec3{0, 0, 1};
  r.app->host().submit(alice, static_cast<int>(step.kind), step, r.wall.now_ms());
  for (int i = 0; i < 5; ++i)
    r.tick();  // the NPC walks up and swings
  ASSERT_GE(r.app->npcs()->stats().actions, 3u);
  ASSERT_LT(r.health(7), 100);
  EXPECT_FALSE(r.app->detector().report(npc).has_value());
  EXPECT_TRUE(r.app->detector().report(7).has_value());
  EXPECT_EQ(r.app->detector().stats().players, 1u);
  EXPECT_EQ(r.world.store().get(replica::Key{npc, gateway::kInputSeqComponent}), nullptr);
  EXPECT_NE(r.world.store().get(replica::Key{7, gateway::kInputSeqComponent}), nullptr);
}

// A killing blow is credited with the health it took, not the damage it would have done.
TEST(EventNpcs, AKillingBlowIsCreditedWithTheHealthItTook) {
  Region r(1, {1}, kStartMs, camp(1, kAtOnce), /*flee_below=*/0,
           [](RegionAppOptions& o) { o.game.attack_damage = 30; });
  const auto alice = r.join(7);
  const director::InstanceId id = r.tick_until_running();
  ASSERT_NE(id, 0u);
  const crdt::EntityId npc = npc_entity_id(id, 0);
  for (int i = 0; i < 3; ++i)
    r.tick();  // it comes within 2 of her
  std::uint64_t seq = 0;
  for (int swing = 0; swing < 4; ++swing) {  // 100 health: 30, 30, 30, then 10 left
    r.attack(alice, npc, ++seq);
    r.tick();
    r.tick();
  }
  EXPECT_EQ(r.health(npc), -20);
  const director::Contributions* damage = r.app->npcs()->contributions(id);
  ASSERT_NE(damage, nullptr) << "the instance ended before the last hit";
  EXPECT_EQ(*damage, (director::Contributions{{7, 100}}));
}

TEST(EventNpcs, AnNpcHitsWithTheRulesDamageTimesTheDamageLever) {
  Region r(1, {1}, kStartMs,
           camp(1, kAtOnce, "npc_damage_mult = { base = 2.5, floor = 2.5, cap = 2.5 }\n"));
  r.join(7);
  const director::InstanceId id = r.tick_until_running();
  ASSERT_NE(id, 0u);
  for (int i = 0; i < 3; ++i)
    r.tick();                  // two steps, then a swing
  EXPECT_EQ(r.health(7), 75);  // attack_damage 10 × 2.5
}

// An NPC's swing carries an aim at its target, so a region that requires aim (refusing aimless
// attacks) does not disarm its NPCs.
TEST(EventNpcs, AnNpcAimsItsSwingsSoRequireAimDoesNotDisarmIt) {
  Region r(1, {1}, kStartMs, camp(1, kAtOnce), 0.25,
           [](RegionAppOptions& o) { o.game.require_aim = true; });
  r.join(7);
  const director::InstanceId id = r.tick_until_running();
  ASSERT_NE(id, 0u);
  for (int i = 0; i < 3; ++i)
    r.tick();                  // two steps, then a swing
  EXPECT_EQ(r.health(7), 90);  // attack_damage 10, aimed within aim_tolerance_deg
  EXPECT_EQ(r.app->npcs()->stats().refused, 0u);
}

// A region runs at most max_alive NPCs at once: what an instance asks for beyond is not spawned,
// and counted.
TEST(EventNpcs, NpcsBeyondTheRegionsLimitAreNotSpawnedAndCounted) {
  Region r(1, {1}, kStartMs, camp(5, kAtOnce), 0.25,
           [](RegionAppOptions& o) { o.npcs.max_alive = 2; });
  const director::InstanceId id = r.tick_until_running();
  ASSERT_NE(id, 0u);
  EXPECT_EQ(r.app->npcs()->stats().spawned, 2u);
  EXPECT_EQ(r.app->npcs()->stats().alive, 2u);
  EXPECT_EQ(r.app->npcs()->stats().not_spawned, 3u);
  EXPECT_TRUE(r.position(npc_entity_id(id, 1)));
  EXPECT_FALSE(r.position(npc_entity_id(id, 2)));
}

TEST(EventNpcs, PlayersKillTheNpcsTheEventCompletesAndTheGoldFollowsTheDamage) {
  // No fleeing here, so that the NPCs stay within the players' reach.
  Region r(1, {1}, kStartMs, camp(2, kAtOnce), /*flee_below=*/0);
  const auto alice = r.join(7), bob = r.join(8);
  const director::InstanceId id = r.tick_until_running();
  ASSERT_NE(id, 0u);
  const crdt::EntityId a = npc_entity_id(id, 0), b = npc_entity_id(id, 1);
  for (int i = 0; i < 3; ++i)
    r.tick();  // both come within 2 of the players (at the origin)
  ASSERT_LE(std::hypot(r.position(a)->x, r.position(a)->z), 5);
  ASSERT_LE(std::hypot(r.position(b)->x, r.position(b)->z), 5);
  // Alice hits A 6 times and B 10 times, Bob hits A 4 times: 10 damage a hit, 100 health each.
  std::uint64_t seq_alice = 0, seq_bob = 0;
  for (int swing = 0; swing < 16; ++swing) {
    r.attack(alice, swing < 6 ? a : b, ++seq_alice);
    if (swing < 4) r.attack(bob, a, ++seq_bob);
    r.tick();
    r.tick();  // the rules' attack cooldown is 2 ticks
  }
  EXPECT_EQ(r.health(a), 0);
  EXPECT_EQ(r.health(b), 0);
  const director::Contributions* damage = r.app->npcs()->contributions(id);
  ASSERT_NE(damage, nullptr) << "the instance ended before the last hit";
  EXPECT_EQ(*damage, (director::Contributions{{7, 160}, {8, 40}}));
  for (int i = 0; i < 40 && !r.app->director()->registry().running().empty(); ++i)
    r.tick();  // the next director step sees every NPC defeated
  EXPECT_TRUE(r.app->director()->registry().running().empty());
  EXPECT_EQ(r.app->director()->stats().completed, 1u);
  EXPECT_EQ(r.app->director()->stats().failed, 0u);
  // 400 gold by damage: 160 / 200 and 40 / 200.
  EXPECT_EQ(r.gold(7), 320);
  EXPECT_EQ(r.gold(8), 80);
  EXPECT_EQ(r.app->npcs()->stats().defeated, 2u);
  EXPECT_EQ(r.app->npcs()->stats().alive, 0u);
  EXPECT_EQ(r.app->npcs()->stats().gold_paid, 400u);
}

TEST(EventNpcs, ARegionWhoseClaimLostSpawnsNothingAndSeesTheSpawnersNpcs) {
  // Both regions start the same instance (scheduled 5 s in); B's clock runs 500 ms behind, so
  // A's claim reaches it before B starts the instance, and B's own claim is refused.
  Region a(1, {1, 2}, kStartMs, camp(2, kAtFiveSeconds));
  Region b(2, {1, 2}, kStartMs - 500, camp(2, kAtFiveSeconds));
  director::InstanceId id_a = 0, id_b = 0;
  for (int i = 0; i < 200 && (id_a == 0 || id_b == 0); ++i) {
    a.tick();
    b.tick();
    testing::exchange(a.world, a.outbox, b.world, b.outbox, a.wall.now_ms());
    if (!a.app->director()->registry().running().empty())
      id_a = a.app->director()->registry().running().front().id();
    if (!b.app->director()->registry().running().empty())
      id_b = b.app->director()->registry().running().front().id();
  }
  ASSERT_NE(id_a, 0u);
  ASSERT_EQ(id_b, id_a);
  for (int i = 0; i < 4; ++i) {
    a.tick();
    b.tick();
    testing::exchange(a.world, a.outbox, b.world, b.outbox, a.wall.now_ms());
  }
  EXPECT_EQ(RegionApp::event_spawner(a.world, id_a), std::optional<std::uint64_t>(1));
  EXPECT_EQ(RegionApp::event_spawner(b.world, id_a), std::optional<std::uint64_t>(1));
  // B had seen A's claim when it started the instance: it said "seen" and claimed nothing.
  EXPECT_EQ(RegionApp::event_claims(b.world, id_a).claims().size(), 1u);
  EXPECT_EQ(a.app->npcs()->stats().spawned, 2u);
  EXPECT_EQ(b.app->npcs()->stats().spawned, 0u);
  EXPECT_FALSE(b.app->npcs()->spawns(id_a));
  // B holds A's NPCs, replicated, and places them in its pipeline (visible to its clients).
  for (std::uint32_t i = 0; i < 2; ++i) {
    const crdt::EntityId npc = npc_entity_id(id_a, i);
    EXPECT_EQ(b.health(npc), 100) << i;
    EXPECT_TRUE(b.app->pipeline().cell_of_entity(npc)) << i;
  }
  EXPECT_FALSE(b.position(npc_entity_id(id_a, 2)));
  EXPECT_EQ(EventNpcs::read(b.world, id_a).npcs_alive, 2u);
}

// Ticks both regions `rounds` times, exchanging their gossip after each round if `linked`.
void run(Region& a, Region& b, int rounds, bool linked) {
  for (int i = 0; i < rounds; ++i) {
    a.tick();
    b.tick();
    if (linked) testing::exchange(a.world, a.outbox, b.world, b.outbox, a.wall.now_ms());
  }
}

// Both regions start a scheduled instance in the same second, their claims crossing on the
// link: exactly one spawns its NPCs, once — each NPC has one spawn's health on both replicas.
// (Before claims had to settle, both spawned, and every NPC had both spawns' health.)
TEST(EventNpcs, TwoLinkedRegionsStartAnInstanceInTheSameSecondAndExactlyOneSpawnsIt) {
  Region a(1, {1, 2}, kStartMs, camp(2, kAtFiveSeconds));
  Region b(2, {1, 2}, kStartMs, camp(2, kAtFiveSeconds));
  for (int i = 0; i < 200 && a.app->npcs()->stats().spawned + b.app->npcs()->stats().spawned == 0;
       ++i)
    run(a, b, 1, true);
  run(a, b, 10, true);
  ASSERT_EQ(a.app->director()->registry().running().size(), 1u);
  const director::InstanceId id = a.app->director()->registry().running().front().id();
  // Both claimed (neither had seen the other's claim when it started), both have seen both.
  EXPECT_EQ(RegionApp::event_claims(a.world, id).claims().size(), 2u);
  const auto seen = RegionApp::event_claims(a.world, id).seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].first, 1u);
  EXPECT_EQ(seen[1].first, 2u);
  const auto winner = RegionApp::event_spawner(a.world, id);
  ASSERT_TRUE(winner);
  EXPECT_EQ(RegionApp::event_spawner(b.world, id), winner);
  EXPECT_EQ(a.app->npcs()->stats().spawned, *winner == 1 ? 2u : 0u);
  EXPECT_EQ(b.app->npcs()->stats().spawned, *winner == 2 ? 2u : 0u);
  EXPECT_EQ(a.app->spawns_awaiting_settlement() + b.app->spawns_awaiting_settlement(), 0u);
  for (std::uint32_t i = 0; i < 2; ++i) {
    EXPECT_EQ(a.health(npc_entity_id(id, i)), 100) << i;
    EXPECT_EQ(b.health(npc_entity_id(id, i)), 100) << i;
  }
}

// A region without a director still says "seen" to the claims it holds, so the regions that run
// events settle (every region of the deployment must say it).
TEST(EventNpcs, ARegionWithoutADirectorStillLetsTheClaimsSettle) {
  Region a(1, {1, 2}, kStartMs, camp(2, kAtFiveSeconds));
  Region b(2, {1, 2}, kStartMs, camp(2, kAtFiveSeconds), 0.25,
           [](RegionAppOptions& o) { o.director = false; });
  ASSERT_EQ(b.app->director(), nullptr);
  for (int i = 0; i < 200 && a.app->npcs()->stats().spawned == 0; ++i)
    run(a, b, 1, true);
  ASSERT_EQ(a.app->director()->registry().running().size(), 1u);
  const director::InstanceId id = a.app->director()->registry().running().front().id();
  EXPECT_EQ(a.app->npcs()->stats().spawned, 2u);
  EXPECT_EQ(RegionApp::event_spawner(a.world, id), std::optional<std::uint64_t>(1));
  EXPECT_EQ(RegionApp::event_claims(a.world, id).claims().size(), 1u);
  EXPECT_TRUE(RegionApp::event_claims(a.world, id).seen_by(2));
}

// Two regions cut off from each other both start the instance and both claim it; neither can
// know whether the other claimed earlier, so neither spawns. When the link heals, the claims
// settle and exactly one region spawns the NPCs — once.
TEST(EventNpcs, InAPartitionNeitherRegionSpawnsThenAfterTheHealExactlyOneDoes) {
  Region a(1, {1, 2}, kStartMs, camp(2, kAtFiveSeconds));
  Region b(2, {1, 2}, kStartMs, camp(2, kAtFiveSeconds));
  for (int i = 0; i < 200 && (a.app->director()->registry().running().empty() ||
                              b.app->director()->registry().running().empty());
       ++i)
    run(a, b, 1, false);
  run(a, b, 40, false);  // two more director steps
  const director::InstanceId id = a.app->director()->registry().running().front().id();
  for (Region* r : {&a, &b}) {
    EXPECT_EQ(r->app->npcs()->stats().spawned, 0u);
    EXPECT_EQ(r->app->spawns_awaiting_settlement(), 1u);
    EXPECT_EQ(RegionApp::event_spawner(r->world, id), std::nullopt);
    EXPECT_EQ(RegionApp::event_claims(r->world, id).claims().size(), 1u);  // its own
    EXPECT_FALSE(r->position(npc_entity_id(id, 0)));
  }
  a.outbox.sent.clear();  // what was sent into the partition is lost; gossip resends it
  b.outbox.sent.clear();
  run(a, b, 40, true);
  const auto winner = RegionApp::event_spawner(a.world, id);
  ASSERT_TRUE(winner);
  EXPECT_EQ(RegionApp::event_spawner(b.world, id), winner);
  EXPECT_EQ(a.app->npcs()->spawns(id), *winner == 1);
  EXPECT_EQ(b.app->npcs()->spawns(id), *winner == 2);
  EXPECT_EQ(a.app->npcs()->stats().spawned + b.app->npcs()->stats().spawned, 2u);
  EXPECT_EQ(a.app->spawns_awaiting_settlement() + b.app->spawns_awaiting_settlement(), 0u);
  for (std::uint32_t i = 0; i < 2; ++i) {
    EXPECT_EQ(a.health(npc_entity_id(id, i)), 100) << i;
    EXPECT_EQ(b.health(npc_entity_id(id, i)), 100) << i;
  }
}

// The event's gold is paid once, by the spawner: both regions see the NPCs die and complete the
// instance, and the players' gold adds up to the reward on both replicas.
TEST(EventNpcs, OnlyTheSpawnerPaysTheGoldThoughBothRegionsCompleteTheInstance) {
  Region a(1, {1, 2}, kStartMs, camp(2, kAtFiveSeconds), /*flee_below=*/0);
  Region b(2, {1, 2}, kStartMs, camp(2, kAtFiveSeconds), /*flee_below=*/0);
  for (int i = 0; i < 200 && a.app->npcs()->stats().spawned + b.app->npcs()->stats().spawned == 0;
       ++i)
    run(a, b, 1, true);
  const director::InstanceId id = a.app->director()->registry().running().front().id();
  const auto winner = RegionApp::event_spawner(a.world, id);
  ASSERT_TRUE(winner);
  Region& w = *winner == 1 ? a : b;
  const auto alice = w.join(7);
  run(a, b, 3, true);  // the NPCs come to her (at the origin)
  std::uint64_t seq = 0;
  for (int swing = 0; swing < 20; ++swing) {
    w.attack(alice, npc_entity_id(id, swing < 10 ? 0 : 1), ++seq);
    run(a, b, 2, true);  // the rules' attack cooldown is 2 ticks
  }
  for (int i = 0; i < 60 && (!a.app->director()->registry().running().empty() ||
                             !b.app->director()->registry().running().empty());
       ++i)
    run(a, b, 1, true);
  run(a, b, 3, true);
  EXPECT_EQ(a.app->director()->stats().completed, 1u);
  EXPECT_EQ(b.app->director()->stats().completed, 1u);
  EXPECT_EQ(a.gold(7), 400);
  EXPECT_EQ(b.gold(7), 400);
  EXPECT_EQ(w.app->npcs()->stats().gold_paid, 400u);
  EXPECT_EQ(a.app->npcs()->stats().gold_paid + b.app->npcs()->stats().gold_paid, 400u);
  EXPECT_EQ(w.app->events_spawned(), 1u);
  EXPECT_EQ(a.app->events_spawned() + b.app->events_spawned(), 1u);
}

}  // namespace
}  // namespace worldline::app
