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

// Errors go back over HTTP and into terminals: what they quote of the input is at most 64
// characters, anything unprintable as \xHH.
TEST(EventDefinition, ErrorsQuoteAtMost64CharactersOfTheInputAndEscapeTheUnprintable) {
  EXPECT_EQ(refusal(with("id = \"\\u001b[2J\"")),
            "events.toml: event[0].id: '\\x1b[2J' is not an id (1-64 letters, digits, '_', '-' "
            "or '.')");
  EXPECT_EQ(refusal(with("\"" + std::string(100, 'k') + "\" = 1")),
            "events.toml: event[0]." + std::string(64, 'k') + "... (100 bytes): unknown field");
  EXPECT_EQ(refusal(with("trigger = { kind = \"" + std::string(70, 'm') + "\" }")),
            "events.toml: event[0].trigger.kind: unknown trigger kind '" + std::string(64, 'm') +
                "... (70 bytes)' (one of: density, schedule, after)");
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
  EXPECT_EQ(
      refusal(with("duration_s = { base = 60, floor = 60, cap = 60 }\n"
                   "npc_health_mult = { base = 1, floor = 1, cap = 1e17 }")),
      "events.toml: event[0].tiers[0].npc_health_mult.cap: must be at most 1000 (a multiplier)");
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

// One event with `tiers` tiers, min_participants 0, 1, 2, …; `trigger` its trigger line.
std::string event_text(const std::string& id, const std::string& trigger, std::size_t tiers = 1) {
  std::string text =
      "[[event]]\nid = \"" + id + "\"\n" + trigger + "\narea = { x = 0, z = 0, radius = 10 }\n";
  for (std::size_t i = 0; i < tiers; ++i) {
    text += "[[event.tiers]]\nmin_participants = " + std::to_string(i) +
            "\nnpc_count = { base = 1, floor = 1, cap = 1 }\n"
            "objective = { base = 1, floor = 1, cap = 1 }\n"
            "duration_s = { base = 60, floor = 60, cap = 60 }\n";
  }
  return text;
}

// e0 on a schedule, then e<i> triggered after e<i-1>: a chain of `count` events, each one a level
// of the cycle search's path.
std::string after_chain(std::size_t count) {
  std::string text = event_text("e0", "trigger = { kind = \"schedule\", every_s = 60 }");
  for (std::size_t i = 1; i < count; ++i) {
    text += event_text("e" + std::to_string(i), "trigger = { kind = \"after\", event = \"e" +
                                                    std::to_string(i - 1) + "\" }");
  }
  return text;
}

TEST(EventDefinitionBounds, TheTextIsAtMostOneMebibyte) {
  // A valid file padded with a comment to exactly the limit, then one byte more.
  std::string text = with("cooldown_s = 60") + "#";
  ASSERT_LT(text.size(), kMaxCatalogBytes);
  text.append(kMaxCatalogBytes - text.size(), 'x');
  ASSERT_EQ(text.size(), 1048576u);
  EXPECT_EQ(refusal(text), "accepted");
  text += 'x';
  EXPECT_EQ(refusal(text), "events.toml: text: must be at most 1048576 bytes (is 1048577)");
  // Refused before TOML parsing: an invalid text of that size says only that.
  EXPECT_EQ(refusal(std::string(kMaxCatalogBytes + 1, '[')),
            "events.toml: text: must be at most 1048576 bytes (is 1048577)");
}

TEST(EventDefinitionBounds, AtMost256EventsAndThe257thIsRefusedAtItsPath) {
  ASSERT_EQ(kMaxEvents, 256u);
  auto parsed = parse_event_catalog(after_chain(256), "events.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(parsed.value().events.size(), 256u);
  EXPECT_EQ(parsed.value().events[255].trigger.after, "e254");
  EXPECT_EQ(refusal(after_chain(257)), "events.toml: event[256]: too many events (at most 256)");
  // In file order: a problem in an event before the 257th is the one reported.
  EXPECT_EQ(refusal(event_text("x", "trigger = { kind = \"sometimes\" }") + after_chain(257)),
            "events.toml: event[0].trigger.kind: unknown trigger kind 'sometimes' (one of: "
            "density, schedule, after)");
}

TEST(EventDefinitionBounds, AtMost16TiersPerEventAndThe17thIsRefusedAtItsPath) {
  ASSERT_EQ(kMaxTiersPerEvent, 16u);
  const std::string sched = "trigger = { kind = \"schedule\", every_s = 60 }";
  auto parsed = parse_event_catalog(event_text("a", sched, 16), "events.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed.value().events[0].tiers.size(), 16u);
  EXPECT_EQ(parsed.value().events[0].tiers[15].min_participants, 15u);
  EXPECT_EQ(refusal(event_text("a", sched) + event_text("b", sched, 17)),
            "events.toml: event[1].tiers[16]: too many tiers (at most 16)");
  // The same through an inline array.
  std::string inline_tiers =
      "[[event]]\nid = \"a\"\n" + sched + "\narea = { x = 0, z = 0, radius = 10 }\ntiers = [\n";
  for (int i = 0; i < 17; ++i) {
    inline_tiers += "{ min_participants = " + std::to_string(i) +
                    ", npc_count = { base = 1, cap = 1 }, objective = { base = 1, floor = 1, "
                    "cap = 1 }, duration_s = { base = 60, floor = 60, cap = 60 } },\n";
  }
  EXPECT_EQ(refusal(inline_tiers + "]\n"),
            "events.toml: event[0].tiers[16]: too many tiers (at most 16)");
}

// The cycle search follows a chain of 256 links on the heap, not a stack frame per link, and still
// names a cycle through all of them.
TEST(EventDefinitionBounds, ACycleThrough256EventsIsNamedInFull) {
  std::string text = event_text("e0", "trigger = { kind = \"after\", event = \"e255\" }");
  std::string cycle = "e0";
  for (int i = 1; i < 256; ++i) {
    text += event_text("e" + std::to_string(i), "trigger = { kind = \"after\", event = \"e" +
                                                    std::to_string(i - 1) + "\" }");
    cycle += " -> e" + std::to_string(i);
  }
  EXPECT_EQ(refusal(text), "events.toml: event[0].trigger.event: cycle " + cycle + " -> e0");
}

TEST(EventDefinitionBounds, DeepNestingIsRefusedBeforeTomlParsesIt) {
  ASSERT_EQ(kMaxNestingDepth, 32u);
  const std::string too_deep = "events.toml: TOML syntax: nested deeper than 32 levels (line ";
  // 100 000 brackets: toml++ alone stops at 256 (TOML_MAX_NESTED_VALUES); refused at the 33rd.
  EXPECT_EQ(refusal("x = " + std::string(100'000, '[')), too_deep + "1)");
  // At the start of a line they open a table header, in which a third is a syntax error.
  EXPECT_EQ(refusal(std::string(100'000, '[')),
            "events.toml: TOML syntax: Error while parsing key: expected bare key starting "
            "character or string delimiter, saw '[' (line 1)");
  std::string inline_tables = "x = ";
  for (int i = 0; i < 100'000; ++i)
    inline_tables += "{a=";
  EXPECT_EQ(refusal(inline_tables), too_deep + "1)");
  // Dotted keys and table headers, which toml++ nests without a limit: 100 000 segments overflowed
  // the stack under ASan before this check.
  std::string dotted, header = "[";
  for (int i = 0; i < 100'000; ++i) {
    dotted += "a.";
    header += "a.";
  }
  EXPECT_EQ(refusal("\n" + dotted + "a = 1\n"), too_deep + "2)");
  EXPECT_EQ(refusal(header + "a]\n"), too_deep + "1)");
  // A header after a byte order mark is still a header: 17 segments, 34 levels.
  EXPECT_EQ(refusal("\xEF\xBB\xBF[a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a]\n"), too_deep + "1)");
  // Arrays of tables, a header per level: each segment may be a level of array and one of table.
  std::string arrays, path = "a";
  for (int i = 0; i < 20; ++i) {
    arrays += "[[" + path + "]]\n";
    path += ".a";
  }
  EXPECT_EQ(refusal(arrays), too_deep + "17)");
  // Levels add up: a header's (2 per segment: 16), a dotted key's (13) and inline tables' (3, 4).
  const std::string header_and_key = "[a.b.c.d.e.f.g.h]\nx.y.z.w.v.u.t.s.r.q.p.o.n.l = ";
  EXPECT_EQ(refusal(header_and_key + "{ k = { m = { n = 1 } } }\n"),
            "events.toml: a: unknown field");
  EXPECT_EQ(refusal(header_and_key + "{ k = { m = { n = { o = 1 } } } }\n"), too_deep + "2)");
}

TEST(EventDefinitionBounds, NestingUpToTheLimitIsLeftToTheReader) {
  // 32 levels exactly: 33 key segments, past the nesting check, refused as an unknown field.
  std::string dotted = "a";
  for (int i = 0; i < 32; ++i)
    dotted += ".a";
  EXPECT_EQ(refusal(dotted + " = 1\n"), "events.toml: a: unknown field");
  EXPECT_EQ(refusal(dotted + ".a = 1\n"),
            "events.toml: TOML syntax: nested deeper than 32 levels (line 1)");
  // Brackets, dots and quotes inside strings and comments are text, not structure.
  const std::string many(40, '[');
  const std::string many_dots =
      "a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a";
  const std::string text_not_structure = "# " + many + many_dots + "\n" +      //
                                         "\"" + many_dots + "{\" = 1\n" +      //
                                         "b = '" + many_dots + many + "'\n" +  //
                                         "c = \"\"\"\n" + many + "\\\"\"\"\n\"\"\"\n" +
                                         "d = '''\n" + many + "''''\n";
  // (The key, 68 characters, is quoted up to its 64th.)
  EXPECT_EQ(refusal(text_not_structure),
            "events.toml: " + (many_dots + "{").substr(0, 64) + "... (68 bytes): unknown field");
  // A multi-line string closed by four quotes (the first one text) hides nothing after it.
  EXPECT_EQ(refusal("d = ['''x'''', { " + dotted + " = 1 }]\n"),
            "events.toml: TOML syntax: nested deeper than 32 levels (line 1)");
  EXPECT_EQ(refusal("d = [\"\"\"x\"\"\"\", { " + dotted + " = 1 }]\n"),
            "events.toml: TOML syntax: nested deeper than 32 levels (line 1)");
  EXPECT_EQ(refusal("d = ['''x'''', { a = 1 }]\n"), "events.toml: d: unknown field");
}

// The deepest layout a valid catalog has, 7 levels as the nesting check counts them: a lever as
// its own table header under a tier (2 per segment) and a float's dot.
TEST(EventDefinitionBounds, TheDeepestValidLayoutIsAccepted) {
  const std::string text = with("cooldown_s = 60") +
                           "[event.tiers.npc_health_mult]\n"
                           "base = 1.5\nfloor = 1.25\ncap = 2.5\n";
  auto parsed = parse_event_catalog(text, "events.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed.value().events[0].tiers[0].npc_health_mult, (Lever{1.5, 0, 1.25, 2.5}));
}

// Found by review of the to_toml round trip: to_chars writes 12345678901234567890.0 in its
// shortest form, 12345678901234567168, which TOML reads as an integer beyond 2^53, refused as a
// number; written now as 1.2345678901234567e+19.
TEST(EventDefinition, ALargeNumberWithManyDigitsRoundTripsThroughToml) {
  auto parsed = parse_event_catalog(
      with("area = { x = 12345678901234567890.0, z = -9007199254740994.0, radius = 1e300 }"),
      "events.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed.value().events[0].area.x, 12345678901234567890.0);
  const std::string written = to_toml(parsed.value());
  EXPECT_NE(written.find("area = { x = 1.2345678901234567e+19, z = -9.007199254740994e+15, "
                         "radius = 1e+300 }"),
            std::string::npos)
      << written;
  auto again = parse_event_catalog(written, "again.toml");
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again.value(), parsed.value());
}

}  // namespace
}  // namespace worldline::region::director
