// World-event definitions: a valid file reads to exactly its values and back, every invalid one
// is refused naming the file, the field and the reason, and each lever follows
// clamp(base + per_player · p, floor, cap).
#include "region/director/event_definition.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cmath>
#include <limits>
#include <string>

namespace worldline::region::director {
namespace {

constexpr const char* kValid = R"(
[[event]]
id = "wolf_pack"
trigger = { kind = "density", players = 20, for_s = 30 }
area = { x = 100.5, z = -50, radius = 80 }
rewards = { gold = 500 }
cooldown_s = 300
rescale_every_s = 2.5
escalates_to = "alpha_wolf"

[[event.tiers]]
min_participants = 0
npc_count = { base = 5, per_player = 0.5, floor = 5, cap = 40 }
objective = { base = 5, per_player = 0.5, floor = 5, cap = 40 }
duration_s = { base = 300, cap = 300, floor = 300 }

[[event.tiers]]
min_participants = 30
npc_count = { base = 10, per_player = 1, floor = 30, cap = 120 }
npc_health_mult = { base = 1, per_player = 0.02, floor = 1, cap = 3 }
npc_damage_mult = { base = 1.25, floor = 1, cap = 2 }
elites = { base = -2, per_player = 0.1, floor = 0, cap = 8 }
objective = { base = 0, per_player = 1, floor = 30, cap = 120 }
duration_s = { base = 240, per_player = 2, floor = 240, cap = 600 }

[[event]]
id = "alpha_wolf"
trigger = { kind = "after", event = "wolf_pack" }
area = { x = 100.5, z = -50, radius = 40 }

[[event.tiers]]
npc_count = { base = 1, floor = 1, cap = 1 }
objective = { base = 1, floor = 1, cap = 1 }
duration_s = { base = 600, floor = 600, cap = 600 }

[[event]]
id = "world_boss"
trigger = { kind = "schedule", every_s = 3600, offset_s = 1800 }
area = { x = 0, z = 0, radius = 200 }

[[event.tiers]]
npc_count = { base = 1, floor = 1, cap = 1 }
objective = { base = 1, floor = 1, cap = 1 }
duration_s = { base = 900, floor = 900, cap = 900 }
)";

TEST(EventDefinition, AValidFileReadsToExactlyItsValues) {
  auto parsed = parse_event_catalog(kValid, "events.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  const EventCatalog& c = parsed.value();
  ASSERT_EQ(c.events.size(), 3u);

  const EventDefinition& w = c.events[0];
  EXPECT_EQ(w.id, "wolf_pack");
  EXPECT_EQ(w.trigger, (Trigger{TriggerKind::kDensity, 20, 30, 0, 0, ""}));
  EXPECT_EQ(w.area, (EventArea{100.5, -50, 80}));
  EXPECT_EQ(w.rewards.gold, 500u);
  EXPECT_EQ(w.cooldown_s, 300);
  EXPECT_EQ(w.rescale_every_s, 2.5);
  EXPECT_EQ(w.escalates_to, "alpha_wolf");
  ASSERT_EQ(w.tiers.size(), 2u);
  EXPECT_EQ(w.tiers[0].min_participants, 0u);
  EXPECT_EQ(w.tiers[0].npc_count, (Lever{5, 0.5, 5, 40}));
  EXPECT_EQ(w.tiers[0].npc_health_mult, (Lever{1, 0, 1, 1}));  // defaults
  EXPECT_EQ(w.tiers[0].npc_damage_mult, (Lever{1, 0, 1, 1}));
  EXPECT_EQ(w.tiers[0].elites, (Lever{0, 0, 0, 0}));
  EXPECT_EQ(w.tiers[0].duration_s, (Lever{300, 0, 300, 300}));
  EXPECT_EQ(w.tiers[1].min_participants, 30u);
  EXPECT_EQ(w.tiers[1].npc_health_mult, (Lever{1, 0.02, 1, 3}));
  EXPECT_EQ(w.tiers[1].npc_damage_mult, (Lever{1.25, 0, 1, 2}));
  EXPECT_EQ(w.tiers[1].elites, (Lever{-2, 0.1, 0, 8}));
  EXPECT_EQ(w.tiers[1].duration_s, (Lever{240, 2, 240, 600}));

  const EventDefinition& a = c.events[1];
  EXPECT_EQ(a.trigger.kind, TriggerKind::kAfter);
  EXPECT_EQ(a.trigger.after, "wolf_pack");
  EXPECT_EQ(a.cooldown_s, 0);       // default
  EXPECT_EQ(a.rescale_every_s, 5);  // default
  EXPECT_EQ(a.rewards.gold, 0u);    // default
  EXPECT_EQ(a.escalates_to, std::nullopt);

  EXPECT_EQ(c.events[2].trigger, (Trigger{TriggerKind::kSchedule, 0, 0, 3600, 1800, ""}));
  EXPECT_EQ(c.find("world_boss"), &c.events[2]);
  EXPECT_EQ(c.find("nothing"), nullptr);
}

TEST(EventDefinition, ACatalogRoundTripsThroughToml) {
  auto parsed = parse_event_catalog(kValid, "events.toml");
  ASSERT_TRUE(parsed.ok());
  auto again = parse_event_catalog(to_toml(parsed.value()), "again.toml");
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again.value(), parsed.value());
}

TEST(EventDefinition, TiersAreChosenByParticipants) {
  auto parsed = parse_event_catalog(kValid, "events.toml");
  ASSERT_TRUE(parsed.ok());
  const EventDefinition& w = parsed.value().events[0];
  EXPECT_EQ(w.tier_index(0), 0u);
  EXPECT_EQ(w.tier_index(29), 0u);
  EXPECT_EQ(w.tier_index(30), 1u);
  EXPECT_EQ(w.tier_index(1000), 1u);
  // Tier 1 at 50 participants: every lever by hand.
  EXPECT_EQ(w.tiers[1].at(50), (LeverValues{60, 2.0, 1.25, 3, 50, 340}));
  // At 200: capped.
  EXPECT_EQ(w.tiers[1].at(200), (LeverValues{120, 3, 1.25, 8, 120, 600}));
}

// Each lever at, below and above its clamp points: npc_count = clamp(5 + 0.5 p, 5, 40) is 5 up to
// p = 0, grows by a half per player, and reaches 40 at p = 70.
TEST(EventDefinition, ALeverFollowsItsFunctionWithFloorAndCap) {
  const Lever l{5, 0.5, 5, 40};
  EXPECT_EQ(l.at(0), 5.0);
  EXPECT_EQ(l.at(1), 5.5);
  EXPECT_EQ(l.at(10), 10.0);
  EXPECT_EQ(l.at(69), 39.5);
  EXPECT_EQ(l.at(70), 40.0);
  EXPECT_EQ(l.at(71), 40.0);
  EXPECT_EQ(l.at(1e6), 40.0);
  // A floor above the base: held until base + per_player · p passes it.
  const Lever floored{-2, 0.1, 1, 8};
  EXPECT_EQ(floored.at(0), 1.0);
  EXPECT_EQ(floored.at(29), 1.0);  // 0.9
  EXPECT_DOUBLE_EQ(floored.at(31), 1.1);
  EXPECT_EQ(floored.at(100), 8.0);
  EXPECT_EQ(floored.at(101), 8.0);
  // Counts round down within [floor, cap]; elites never exceed the NPC count.
  Tier t;
  t.npc_count = {0, 0.5, 2, 10};
  t.elites = {0, 1, 0, 6};
  t.objective = {1, 0.25, 1, 4};
  t.duration_s = {60, 1, 60, 90};
  EXPECT_EQ(t.at(0), (LeverValues{2, 1, 1, 0, 1, 60}));
  EXPECT_EQ(t.at(5), (LeverValues{2, 1, 1, 2, 2, 65}));  // npc 2.5 → 2, elites 5 → 2
  EXPECT_EQ(t.at(7), (LeverValues{3, 1, 1, 3, 2, 67}));  // npc 3.5 → 3, objective 2.75 → 2
  EXPECT_EQ(t.at(40), (LeverValues{10, 1, 1, 6, 4, 90}));
}

RC_GTEST_PROP(EventDefinitionLaws, ALeverStaysWithinFloorAndCapAndGrowsWithPlayers, ()) {
  const double floor = *rc::gen::inRange(0, 1000) / 4.0;
  const double cap = floor + *rc::gen::inRange(0, 1000) / 4.0;
  const Lever l{*rc::gen::inRange(-1000, 1000) / 8.0, *rc::gen::inRange(0, 400) / 16.0, floor, cap};
  double previous = -INFINITY;
  for (int p = 0; p <= 300; p += *rc::gen::inRange(1, 20)) {
    const double v = l.at(p);
    RC_ASSERT(v >= floor);
    RC_ASSERT(v <= cap);
    RC_ASSERT(v >= previous);
    previous = v;
  }
}

// One valid definition with `line` replacing the line of the same key, or added to the event.
std::string with(const std::string& line) {
  std::string base = R"(
[[event]]
id = "a"
trigger = { kind = "density", players = 10, for_s = 5 }
area = { x = 0, z = 0, radius = 10 }
cooldown_s = 60

[[event.tiers]]
min_participants = 0
npc_count = { base = 1, per_player = 1, floor = 1, cap = 10 }
objective = { base = 1, floor = 1, cap = 10 }
duration_s = { base = 60, floor = 60, cap = 60 }
)";
  const std::string key = line.substr(0, line.find(' '));
  const auto at = base.find("\n" + key + " ");
  if (at == std::string::npos) {  // a new key of the event: before its [[event.tiers]]
    return base.insert(base.find("cooldown_s"), line + "\n");
  }
  const auto end = base.find('\n', at + 1);
  return base.replace(at + 1, end - at - 1, line);
}

std::string refusal(const std::string& text) {
  auto parsed = parse_event_catalog(text, "events.toml");
  return parsed.ok() ? "accepted" : parsed.error().message;
}

// Found by review: 0.29 × 100 is 28.999999999999996 in binary; the count is 29. And a count of
// participants that is not a number counts as nobody, never as undefined behaviour.
TEST(EventDefinition, ACountThatIsWholeUpToRoundingIsThatWholeNumber) {
  Tier t;
  t.npc_count = {0, 0.29, 0, 1000};
  t.elites = {0, 0.29, 0, 1000};
  t.objective = {0, 0.29, 1, 1000};
  EXPECT_EQ(t.at(100).npc_count, 29u);
  EXPECT_EQ(t.at(100).elites, 29u);
  EXPECT_EQ(t.at(100).objective, 29u);
  EXPECT_EQ(t.at(99).npc_count, 28u);  // 28.71
  EXPECT_EQ(t.at(std::nan("")).npc_count, 0u);
  EXPECT_EQ(t.at(std::numeric_limits<double>::infinity()).npc_count, 0u);
  EXPECT_EQ(t.at(-5).objective, 1u);
}

TEST(EventDefinition, InvalidFieldsAreRefusedWithTheFieldNamed) {
  ASSERT_EQ(refusal(with("cooldown_s = 60")), "accepted");
  EXPECT_EQ(refusal(with("trigger = { kind = \"sometimes\" }")),
            "events.toml: event[0].trigger.kind: unknown trigger kind 'sometimes' (one of: "
            "density, schedule, after)");
  EXPECT_EQ(refusal(with("trigger = { players = 3 }")),
            "events.toml: event[0].trigger.kind: missing");
  EXPECT_EQ(refusal(with("trigger = { kind = \"density\", for_s = 5 }")),
            "events.toml: event[0].trigger.players: missing");
  EXPECT_EQ(refusal(with("trigger = { kind = \"schedule\", every_s = 0 }")),
            "events.toml: event[0].trigger.every_s: must be > 0");
  EXPECT_EQ(refusal(with("trigger = { kind = \"schedule\", every_s = 60, players = 3 }")),
            "events.toml: event[0].trigger.players: unknown field for a schedule trigger");
  EXPECT_EQ(refusal(with("area = { x = 0, z = 0 }")), "events.toml: event[0].area.radius: missing");
  EXPECT_EQ(refusal(with("area = { x = nan, z = 0, radius = 1 }")),
            "events.toml: event[0].area.x: must be a finite number");
  EXPECT_EQ(refusal(with("area = { x = 0, z = -inf, radius = 1 }")),
            "events.toml: event[0].area.z: must be a finite number");
  // A boolean is no count (toml++ would read true as 1).
  EXPECT_EQ(refusal(with("trigger = { kind = \"density\", players = true }")),
            "events.toml: event[0].trigger.players: must be a whole number");
  EXPECT_EQ(refusal(with("cooldown_s = -1")),
            "events.toml: event[0].cooldown_s: must not be negative");
  EXPECT_EQ(refusal(with("cooldown_s = 1e10")),
            "events.toml: event[0].cooldown_s: must be at most 1e+09 (seconds)");
  EXPECT_EQ(refusal(with("duration_s = { base = 60, floor = 60, cap = 2e9 }")),
            "events.toml: event[0].tiers[0].duration_s.cap: must be at most 1e+09 (seconds)");
  EXPECT_EQ(refusal(with("trigger = { kind = \"schedule\", every_s = 60, offset_s = 1e300 }")),
            "events.toml: event[0].trigger.offset_s: must be at most 1e+09 (seconds)");
  EXPECT_EQ(refusal(with("cooldown_s = \"long\"")),
            "events.toml: event[0].cooldown_s: must be a number");
  EXPECT_EQ(refusal(with("npc_count = { base = 1, floor = 5, cap = 3 }")),
            "events.toml: event[0].tiers[0].npc_count.cap: is below floor (3 < 5)");
  EXPECT_EQ(refusal(with("npc_count = { base = 1, floor = 1 }")),
            "events.toml: event[0].tiers[0].npc_count.cap: missing");
  EXPECT_EQ(refusal(with("npc_count = { base = 1, floor = -1, cap = 3 }")),
            "events.toml: event[0].tiers[0].npc_count.floor: must not be negative");
  EXPECT_EQ(refusal(with("npc_count = { base = 1, floor = 1, cap = 3.5 }")),
            "events.toml: event[0].tiers[0].npc_count.cap: must be a whole number (a count)");
  EXPECT_EQ(refusal(with("npc_count = { base = inf, floor = 1, cap = 3 }")),
            "events.toml: event[0].tiers[0].npc_count.base: must be a finite number");
  EXPECT_EQ(refusal(with("npc_count = { base = 1, per_player = nan, floor = 1, cap = 3 }")),
            "events.toml: event[0].tiers[0].npc_count.per_player: must be a finite number");
  EXPECT_EQ(refusal(with("npc_count = { base = 1, cap = 3, ceiling = 9 }")),
            "events.toml: event[0].tiers[0].npc_count.ceiling: unknown field");
  EXPECT_EQ(refusal(with("duration_s = { base = 60, floor = 0, cap = 60 }")),
            "events.toml: event[0].tiers[0].duration_s.floor: must be > 0 (an event needs time to "
            "be played)");
  EXPECT_EQ(refusal(with("objective = { base = 0, cap = 5 }")),
            "events.toml: event[0].tiers[0].objective.floor: must be >= 1 (an objective of 0 is "
            "met at once)");
  EXPECT_EQ(refusal(with("objective = 3")),
            "events.toml: event[0].tiers[0].objective: must be a table");
  EXPECT_EQ(refusal(with("min_participants = -2")),
            "events.toml: event[0].tiers[0].min_participants: must not be negative");
  EXPECT_EQ(refusal(with("rewards = { gold = 1.5 }")),
            "events.toml: event[0].rewards.gold: must be a whole number");
  EXPECT_EQ(refusal(with("id = \"has space\"")),
            "events.toml: event[0].id: 'has space' is not an id (1-64 letters, digits, '_', '-' or "
            "'.')");
  EXPECT_EQ(refusal(with("colour = \"red\"")), "events.toml: event[0].colour: unknown field");
  EXPECT_EQ(refusal("[[event]]\ntrigger = { kind = \"after\", event = \"b\" }\n"),
            "events.toml: event[0].id: missing");
  EXPECT_EQ(refusal("[[event]]\nid = \"a\"\ntrigger = { kind = \"after\", event = \"b\" }\n"
                    "area = { x = 0, z = 0, radius = 1 }\n"),
            "events.toml: event[0].tiers: missing");
  EXPECT_EQ(refusal("event = 3\n"), "events.toml: event: must be an array of tables ([[event]])");
  EXPECT_EQ(refusal("[[event]\n").substr(0, 25), "events.toml: TOML syntax:");
}

TEST(EventDefinition, TiersMustRiseInParticipants) {
  const std::string text = with("cooldown_s = 60") + R"(
[[event.tiers]]
min_participants = 0
npc_count = { base = 1, floor = 1, cap = 10 }
objective = { base = 1, floor = 1, cap = 10 }
duration_s = { base = 60, floor = 60, cap = 60 }
)";
  EXPECT_EQ(
      refusal(text),
      "events.toml: event[0].tiers[1].min_participants: must be above the previous tier's (0)");
}

// A second event after the first; `b_extra` lines are added to the second.
std::string two(const std::string& a_extra, const std::string& b_id, const std::string& b_extra) {
  auto event = [](const std::string& id, const std::string& extra) {
    return "[[event]]\nid = \"" + id + "\"\n" + extra +
           "\narea = { x = 0, z = 0, radius = 10 }\n"
           "[[event.tiers]]\n"
           "npc_count = { base = 1, floor = 1, cap = 1 }\n"
           "objective = { base = 1, floor = 1, cap = 1 }\n"
           "duration_s = { base = 60, floor = 60, cap = 60 }\n";
  };
  return event("a", a_extra) + event(b_id, b_extra);
}

TEST(EventDefinition, CrossReferencesAreChecked) {
  const std::string sched = "trigger = { kind = \"schedule\", every_s = 60 }";
  ASSERT_EQ(refusal(two(sched + "\nescalates_to = \"b\"", "b", sched)), "accepted");
  EXPECT_EQ(refusal(two(sched, "a", sched)),
            "events.toml: event[1].id: duplicate id 'a' (first at event[0])");
  EXPECT_EQ(refusal(two(sched + "\nescalates_to = \"c\"", "b", sched)),
            "events.toml: event[0].escalates_to: unknown event 'c'");
  EXPECT_EQ(refusal(two(sched, "b", "trigger = { kind = \"after\", event = \"z\" }")),
            "events.toml: event[1].trigger.event: unknown event 'z'");
  // a escalates to b, b escalates to a.
  EXPECT_EQ(refusal(two(sched + "\nescalates_to = \"b\"", "b", sched + "\nescalates_to = \"a\"")),
            "events.toml: event[1].escalates_to: cycle a -> b -> a");
  // a escalates to b, and a is triggered after b: completing either starts the other.
  EXPECT_EQ(refusal(two("trigger = { kind = \"after\", event = \"b\" }\nescalates_to = \"b\"", "b",
                        sched)),
            "events.toml: event[0].trigger.event: cycle a -> b -> a");
  // An event escalating to itself.
  EXPECT_EQ(refusal(two(sched + "\nescalates_to = \"a\"", "b", sched)),
            "events.toml: event[0].escalates_to: cycle a -> a");
}

}  // namespace
}  // namespace worldline::region::director
