// World-event lifecycle: triggers fire at their thresholds and times and not otherwise, chains
// escalate, cooldowns hold, a redeploy leaves running instances alone, and an instance's NPC
// target only grows.
#include "region/director/event_lifecycle.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cmath>
#include <ostream>
#include <string>
#include <vector>

namespace worldline::region::director {

void PrintTo(const DirectorEvent& e, std::ostream* os) {
  *os << "{" << to_string(e.kind) << " " << e.event_id << " #" << std::hex << e.instance << std::dec
      << " spawn " << e.spawn_more << " tier " << e.tier << "}";
}

namespace {

using K = DirectorEventKind;

// npc_count = clamp(p, 2, 50); objective 100 (so only a reported progress completes it);
// 60 s long.
constexpr const char* kTier = R"(
[[event.tiers]]
npc_count = { base = 0, per_player = 1, floor = 2, cap = 50 }
objective = { base = 100, floor = 100, cap = 100 }
duration_s = { base = 60, floor = 60, cap = 60 }
)";

std::string event(const std::string& id, const std::string& trigger, const std::string& extra = "",
                  const std::string& tiers = kTier) {
  return "[[event]]\nid = \"" + id + "\"\ntrigger = " + trigger +
         "\narea = { x = 0, z = 0, radius = 50 }\n" + extra + "\n" + tiers + "\n";
}

EventCatalog catalog(const std::string& text) {
  auto parsed = parse_event_catalog(text, "test.toml");
  EXPECT_TRUE(parsed.ok()) << parsed.error().message;
  return parsed.ok() ? parsed.value() : EventCatalog{};
}

DirectorInputs crowd(const std::string& id, double players) {
  DirectorInputs in;
  in.players_in_area[id] = players;
  return in;
}

InstanceId density_id(const std::string& id, std::int64_t now_ms) {
  return instance_id(id, static_cast<std::uint64_t>(now_ms / 10'000));
}

TEST(EventLifecycle, InstanceIdsAreFnv1aOfTheEventAndTheSalt) {
  // Pinned: two regions (and two builds) must compute the same id for the same trigger.
  EXPECT_EQ(instance_id("camp", 15'000), 0x3b9a2e76c6f5ad52ull);
  EXPECT_NE(instance_id("camp", 15'000), instance_id("camp", 15'001));
  EXPECT_NE(instance_id("camp", 0), instance_id("camq", 0));
}

TEST(EventLifecycle, ADensityTriggerFiresAtItsThresholdAndNotOneBelow) {
  const std::string text = event("camp", R"({ kind = "density", players = 10 })");
  EventRegistry at(catalog(text)), below(catalog(text));
  for (std::int64_t t = 0; t < 100'000; t += 1000) {
    EXPECT_EQ(below.advance(t, crowd("camp", 9)), std::vector<DirectorEvent>{}) << t;
  }
  EXPECT_EQ(below.phase("camp"), SlotPhase::kArmed);
  EXPECT_EQ(at.advance(5000, crowd("camp", 10)),
            (std::vector<DirectorEvent>{{K::kStarted, "camp", density_id("camp", 5000), 10, 0}}));
  EXPECT_EQ(at.phase("camp"), SlotPhase::kActive);
  ASSERT_EQ(at.running().size(), 1u);
  EXPECT_EQ(at.running()[0].levers().npc_count, 10u);
}

// Found by review: NaN compared below nothing, so a broken density sample held the threshold.
TEST(EventLifecycle, ANotANumberPlayerCountNeverHoldsADensityThreshold) {
  EventRegistry r(catalog(event("camp", R"({ kind = "density", players = 10 })")));
  for (std::int64_t t = 0; t < 30'000; t += 1000) {
    EXPECT_EQ(r.advance(t, crowd("camp", std::nan(""))), std::vector<DirectorEvent>{}) << t;
  }
  EXPECT_EQ(r.phase("camp"), SlotPhase::kArmed);
}

// Found by review: a density event that fires again within one id bucket (10 s) took the
// previous instance's id — which a first-claim on the id would then refuse. The next id follows
// from the previous one, alike in every region that saw the same firings.
TEST(EventLifecycle, ADensityEventFiringAgainWithinABucketGetsANewId) {
  EventRegistry r(catalog(event("a", R"({ kind = "density", players = 5 })")));
  const InstanceId first = density_id("a", 0);
  ASSERT_EQ(r.advance(0, crowd("a", 8)),
            (std::vector<DirectorEvent>{{K::kStarted, "a", first, 8, 0}}));
  DirectorInputs done = crowd("a", 8);
  done.instances[first].objective_progress = 100;
  const InstanceId second = instance_id("a", first);
  EXPECT_NE(second, first);
  // Completed at 2 s, no cooldown: armed and fired again in the same 10 s bucket.
  EXPECT_EQ(r.advance(2000, done), (std::vector<DirectorEvent>{{K::kCompleted, "a", first, 0, 0},
                                                               {K::kArmed, "a", 0, 0, 0},
                                                               {K::kStarted, "a", second, 8, 0}}));
}

// Found by review: a redeploy that moves the event kept the time its threshold had been held at
// the old place; now the count starts again where the event is.
TEST(EventLifecycle, ARedeployThatMovesTheAreaRestartsTheThresholdsCount) {
  const auto at = [](double x) {
    return "[[event]]\nid = \"camp\"\ntrigger = { kind = \"density\", players = 10, for_s = 30 }"
           "\narea = { x = " +
           std::to_string(x) + ", z = 0, radius = 50 }\n" + kTier;
  };
  EventRegistry r(catalog(at(0)));
  std::vector<std::int64_t> starts;
  for (std::int64_t t = 0; t <= 60'000; t += 1000) {
    if (t == 20'000) r.replace(catalog(at(500)));  // held 20 s at x = 0, then moved
    for (const DirectorEvent& e : r.advance(t, crowd("camp", 12)))
      if (e.kind == K::kStarted) starts.push_back(t);
  }
  EXPECT_EQ(starts, (std::vector<std::int64_t>{50'000}));  // 30 s after the move, not at 30 s
}

TEST(EventLifecycle, AThresholdHeldShorterThanForSDoesNotFire) {
  EventRegistry r(catalog(event("camp", R"({ kind = "density", players = 10, for_s = 30 })")));
  std::vector<std::int64_t> starts;
  for (std::int64_t t = 0; t <= 120'000; t += 1000) {
    // Held from 0 to 29 s, one second below at 29 s, held again from 30 s.
    const double players = t == 29'000 ? 9 : 12;
    for (const DirectorEvent& e : r.advance(t, crowd("camp", players))) {
      if (e.kind == K::kStarted) starts.push_back(t);
    }
  }
  EXPECT_EQ(starts, (std::vector<std::int64_t>{60'000}));  // 30 s after 30 s, not 30 s after 0
}

TEST(EventLifecycle, AScheduleFiresAtExactlyItsTimes) {
  // Ten seconds long and no cooldown, so every scheduled time finds it armed.
  const std::string short_tier = R"(
[[event.tiers]]
npc_count = { base = 1, floor = 1, cap = 1 }
objective = { base = 1, floor = 1, cap = 1 }
duration_s = { base = 10, floor = 10, cap = 10 }
)";
  const std::string text =
      event("boss", R"({ kind = "schedule", every_s = 60, offset_s = 15 })", "", short_tier);
  EventRegistry fine(catalog(text)), coarse(catalog(text));
  std::vector<std::int64_t> starts;
  for (std::int64_t t = 0; t <= 200'000; t += 1000) {
    for (const DirectorEvent& e : fine.advance(t, {})) {
      if (e.kind == K::kStarted) {
        starts.push_back(t);
        EXPECT_EQ(e.instance, instance_id("boss", static_cast<std::uint64_t>(t)));
      }
    }
  }
  EXPECT_EQ(starts, (std::vector<std::int64_t>{15'000, 75'000, 135'000, 195'000}));
  // Ticks that straddle a scheduled time fire at the first tick after it, with the scheduled
  // time's id, so a region with another tick phase agrees.
  EXPECT_EQ(coarse.advance(14'000, {}), std::vector<DirectorEvent>{});
  EXPECT_EQ(coarse.advance(21'000, {}),
            (std::vector<DirectorEvent>{{K::kStarted, "boss", instance_id("boss", 15'000), 1, 0}}));
}

TEST(EventLifecycle, AScheduledTimeThatFindsTheEventRunningIsSkipped) {
  const std::string long_tier = R"(
[[event.tiers]]
npc_count = { base = 1, floor = 1, cap = 1 }
objective = { base = 1, floor = 1, cap = 1 }
duration_s = { base = 90, floor = 90, cap = 90 }
)";
  EventRegistry r(catalog(event("boss", R"({ kind = "schedule", every_s = 60 })", "", long_tier)));
  std::vector<std::pair<DirectorEventKind, std::int64_t>> seen;
  for (std::int64_t t = 0; t <= 240'000; t += 1000) {
    for (const DirectorEvent& e : r.advance(t, {}))
      seen.emplace_back(e.kind, t);
  }
  // 0: starts (the first tick is exactly on time); 60: running, skipped; 90: fails and re-arms
  // (no cooldown); 120: starts; 180: skipped; 210: fails; 240: starts.
  EXPECT_EQ(seen,
            (std::vector<std::pair<DirectorEventKind, std::int64_t>>{{K::kStarted, 0},
                                                                     {K::kFailed, 90'000},
                                                                     {K::kArmed, 90'000},
                                                                     {K::kStarted, 120'000},
                                                                     {K::kFailed, 210'000},
                                                                     {K::kArmed, 210'000},
                                                                     {K::kStarted, 240'000}}));
}

TEST(EventLifecycle, ACompletedEventEscalatesAlongItsChain) {
  const std::string never = R"({ kind = "schedule", every_s = 1000000, offset_s = 1000000 })";
  EventRegistry r(
      catalog(event("a", R"({ kind = "density", players = 5 })", R"(escalates_to = "b")") +
              event("b", never) + event("c", R"({ kind = "after", event = "b" })")));
  const InstanceId a = density_id("a", 0);
  ASSERT_EQ(r.advance(0, crowd("a", 5)).size(), 1u);
  // a completes: b starts in the same tick, its id derived from a's.
  DirectorInputs done = crowd("b", 20);
  done.instances[a].objective_progress = 100;
  const InstanceId b = instance_id("b", a);
  EXPECT_EQ(r.advance(1000, done), (std::vector<DirectorEvent>{{K::kCompleted, "a", a, 0, 0},
                                                               {K::kArmed, "a", 0, 0, 0},
                                                               {K::kStarted, "b", b, 20, 0}}));
  // b completes: c, triggered after b, starts.
  DirectorInputs b_done;
  b_done.instances[b].objective_progress = 100;
  EXPECT_EQ(r.advance(2000, b_done),
            (std::vector<DirectorEvent>{{K::kCompleted, "b", b, 0, 0},
                                        {K::kArmed, "b", 0, 0, 0},
                                        {K::kStarted, "c", instance_id("c", b), 2, 0}}));
}

TEST(EventLifecycle, AFailedEventDoesNotEscalate) {
  EventRegistry r(catalog(event("a", R"({ kind = "density", players = 5 })",
                                R"(escalates_to = "b"
cooldown_s = 600)") + event("b", R"({ kind = "after", event = "a" })")));
  const InstanceId a = density_id("a", 0);
  ASSERT_EQ(r.advance(0, crowd("a", 5)).size(), 1u);
  EXPECT_EQ(r.advance(59'999, crowd("a", 5)), std::vector<DirectorEvent>{});
  EXPECT_EQ(r.advance(60'000, crowd("a", 5)),
            (std::vector<DirectorEvent>{{K::kFailed, "a", a, 0, 0}}));  // 60 s elapsed
  EXPECT_EQ(r.phase("b"), SlotPhase::kArmed);
  EXPECT_EQ(r.phase("a"), SlotPhase::kCooldown);
}

TEST(EventLifecycle, TheCooldownIsRespected) {
  EventRegistry r(catalog(event("a", R"({ kind = "density", players = 5 })", "cooldown_s = 60")));
  const InstanceId first = density_id("a", 0);
  ASSERT_EQ(r.advance(0, crowd("a", 8)).size(), 1u);
  DirectorInputs done = crowd("a", 8);
  done.instances[first].objective_progress = 100;
  EXPECT_EQ(r.advance(10'000, done),
            (std::vector<DirectorEvent>{{K::kCompleted, "a", first, 0, 0}}));
  // The crowd stays; nothing fires until 10 s + 60 s.
  for (std::int64_t t = 11'000; t < 70'000; t += 1000) {
    EXPECT_EQ(r.advance(t, crowd("a", 8)), std::vector<DirectorEvent>{}) << t;
    EXPECT_EQ(r.phase("a"), SlotPhase::kCooldown);
  }
  EXPECT_EQ(r.advance(70'000, crowd("a", 8)),
            (std::vector<DirectorEvent>{{K::kArmed, "a", 0, 0, 0},
                                        {K::kStarted, "a", density_id("a", 70'000), 8, 0}}));
}

TEST(EventLifecycle, ARedeployLeavesARunningInstanceAlone) {
  EventRegistry r(catalog(event("a", R"({ kind = "density", players = 5 })")));
  ASSERT_EQ(r.advance(0, crowd("a", 10)).size(), 1u);
  const InstanceId id = density_id("a", 0);
  // The new definition: twice the NPCs per player, a higher floor, and 10 s long.
  r.replace(catalog(event("a", R"({ kind = "density", players = 5 })", "", R"(
[[event.tiers]]
npc_count = { base = 0, per_player = 2, floor = 30, cap = 100 }
objective = { base = 100, floor = 100, cap = 100 }
duration_s = { base = 10, floor = 10, cap = 10 }
)")));
  EXPECT_EQ(r.definition("a")->tiers[0].npc_count, (Lever{0, 2, 30, 100}));
  const EventInstance* running = r.find(id);
  ASSERT_NE(running, nullptr);
  EXPECT_EQ(running->definition().tiers[0].npc_count, (Lever{0, 1, 2, 50}));
  EXPECT_EQ(running->deadline_ms(), 60'000);
  // Its rescale at 5 s uses its own definition: 20 participants → 20 NPCs, 10 more.
  DirectorInputs in = crowd("a", 20);
  in.instances[id].participants = 20;
  EXPECT_EQ(r.advance(5000, in), (std::vector<DirectorEvent>{{K::kRescaled, "a", id, 10, 0}}));
  EXPECT_EQ(r.advance(10'000, crowd("a", 20)), std::vector<DirectorEvent>{});  // still running
  // It fails at its own 60 s; the next instance is the new definition's.
  EXPECT_EQ(r.advance(60'000, crowd("a", 20)),
            (std::vector<DirectorEvent>{{K::kFailed, "a", id, 0, 0},
                                        {K::kArmed, "a", 0, 0, 0},
                                        {K::kStarted, "a", density_id("a", 60'000), 40, 0}}));
  EXPECT_EQ(r.running()[0].deadline_ms(), 70'000);

  // Removing the definition: the running instance still runs to its end.
  r.replace(EventCatalog{});
  EXPECT_EQ(r.phase("a"), SlotPhase::kUnknown);
  ASSERT_EQ(r.running().size(), 1u);
  EXPECT_EQ(r.advance(70'000, {}),
            (std::vector<DirectorEvent>{{K::kFailed, "a", density_id("a", 60'000), 0, 0}}));
  EXPECT_TRUE(r.running().empty());
}

TEST(EventLifecycle, RescalingGrowsButNeverShrinksTheNpcTarget) {
  auto def = std::make_shared<const EventDefinition>(
      catalog(event("a", R"({ kind = "density", players = 5 })")).events[0]);
  EventInstance i(7, def, 0, 10);
  EXPECT_EQ(i.advance(0, {10, 0, 0}).spawn_more, 10u);
  EXPECT_EQ(i.advance(4999, {40, 10, 0}).spawn_more, 0u);  // not due yet
  InstanceUpdate u = i.advance(5000, {40, 10, 0});
  EXPECT_TRUE(u.rescaled);
  EXPECT_EQ(u.spawn_more, 30u);
  EXPECT_EQ(i.levers().npc_count, 40u);
  u = i.advance(10'000, {5, 30, 3});  // the crowd left: no removal, no spawn, nothing changed
  EXPECT_FALSE(u.rescaled);
  EXPECT_EQ(u.spawn_more, 0u);
  EXPECT_EQ(i.levers().npc_count, 40u);
  EXPECT_EQ(i.npcs_requested(), 40u);
  u = i.advance(15'000, {60, 30, 3});  // capped at 50
  EXPECT_EQ(u.spawn_more, 10u);
  EXPECT_EQ(i.levers().npc_count, 50u);
  u = i.advance(20'000, {60, 30, 100});
  EXPECT_EQ(u.phase, InstancePhase::kCompleted);
  EXPECT_EQ(u.spawn_more, 0u);
  EXPECT_EQ(i.ended_ms(), 20'000);
  EXPECT_EQ(i.advance(25'000, {60, 30, 100}).phase, InstancePhase::kCompleted);
}

TEST(EventLifecycle, TiersAreChosenFromParticipantsAtEachRescale) {
  const std::string tiers = R"(
[[event.tiers]]
npc_count = { base = 4, floor = 4, cap = 4 }
npc_health_mult = { base = 1, floor = 1, cap = 1 }
objective = { base = 10, floor = 10, cap = 10 }
duration_s = { base = 60, floor = 60, cap = 60 }
[[event.tiers]]
min_participants = 20
npc_count = { base = 12, floor = 12, cap = 12 }
npc_health_mult = { base = 2, floor = 2, cap = 2 }
elites = { base = 2, floor = 2, cap = 2 }
objective = { base = 20, floor = 20, cap = 20 }
duration_s = { base = 120, floor = 120, cap = 120 }
)";
  auto def = std::make_shared<const EventDefinition>(
      catalog(event("a", R"({ kind = "density", players = 5 })", "", tiers)).events[0]);
  EventInstance i(1, def, 0, 19);
  EXPECT_EQ(i.tier(), 0u);
  EXPECT_EQ(i.advance(0, {19, 0, 0}).spawn_more, 4u);
  EXPECT_EQ(i.advance(5000, {25, 4, 0}).spawn_more, 8u);
  EXPECT_EQ(i.tier(), 1u);
  EXPECT_EQ(i.levers(), (LeverValues{12, 2, 1, 2, 20, 60}));  // the duration stays the start's
  i.advance(10'000, {3, 12, 0});
  EXPECT_EQ(i.tier(), 0u);
  EXPECT_EQ(i.levers(), (LeverValues{12, 1, 1, 2, 20, 60}));  // counts kept, multiplier follows
}

// For any definition's levers and any sequence of participants, the NPC target never goes down,
// and the NPCs asked for add up to the target.
RC_GTEST_PROP(EventLifecycleLaws, TheNpcTargetNeverDecreases, ()) {
  EventDefinition def;
  def.id = "a";
  def.rescale_every_s = *rc::gen::inRange(1, 10);
  const int tiers = *rc::gen::inRange(1, 4);
  for (int t = 0; t < tiers; ++t) {
    Tier tier;
    tier.min_participants = static_cast<std::uint32_t>(t * 10);
    const double floor = *rc::gen::inRange(0, 20);
    tier.npc_count = {*rc::gen::inRange(-20, 20) / 1.0, *rc::gen::inRange(-20, 20) / 4.0, floor,
                      floor + *rc::gen::inRange(0, 60)};
    tier.objective = {1000, 0, 1000, 1000};
    tier.duration_s = {1e6, 0, 1e6, 1e6};
    def.tiers.push_back(tier);
  }
  EventInstance i(1, std::make_shared<const EventDefinition>(def), 0, *rc::gen::inRange(0, 100));
  std::uint32_t previous = 0, asked = 0;
  for (std::int64_t t = 0; t < 200'000; t += *rc::gen::inRange(100, 5000)) {
    const InstanceUpdate u = i.advance(t, {double(*rc::gen::inRange(0, 100)), 0, 0});
    RC_ASSERT(u.phase == InstancePhase::kActive);
    asked += u.spawn_more;
    RC_ASSERT(i.levers().npc_count >= previous);
    RC_ASSERT(asked == i.levers().npc_count);
    previous = i.levers().npc_count;
  }
}

}  // namespace
}  // namespace worldline::region::director
