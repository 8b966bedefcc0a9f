// The Director as the region's loop drives it: ticks into the density map, one registry step per
// closed sample period with the players counted in each event's area, forecasts per grid square.
#include "region/director/director.h"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace worldline::region::director {
namespace {

using K = DirectorEventKind;

EventCatalog catalog(const std::string& text) {
  auto parsed = parse_event_catalog(text, "test.toml");
  EXPECT_TRUE(parsed.ok()) << parsed.error().message;
  return parsed.ok() ? parsed.value() : EventCatalog{};
}

// 20 players held for 3 s inside a circle of radius 50 at (30, 30); npc_count = participants.
const char* kCamp = R"(
[[event]]
id = "camp"
trigger = { kind = "density", players = 20, for_s = 3 }
area = { x = 30, z = 30, radius = 50 }

[[event.tiers]]
npc_count = { base = 0, per_player = 1, floor = 1, cap = 100 }
objective = { base = 100, floor = 100, cap = 100 }
duration_s = { base = 60, floor = 60, cap = 60 }
)";

DirectorOptions options(int grid = 2) {
  DirectorOptions o;
  o.world = Rect{0, 0, 100, 100};
  o.forecast_grid = grid;
  return o;
}

// One leaf covering the whole world with `players` in it and `actions` processed this tick.
std::vector<CellCount> whole_world(std::uint32_t players, std::uint32_t actions = 0) {
  return {CellCount{1, Rect{0, 0, 100, 100}, players, actions}};
}

TEST(Director, ADensityTriggerFiresAtTheStepItsThresholdHasBeenHeldForItsSeconds) {
  Director d(options(), catalog(kCamp));
  double inside = 25;
  std::vector<Circle> asked;
  auto within = [&](const Circle& c) {
    asked.push_back(c);
    return inside;
  };
  std::vector<std::pair<std::int64_t, DirectorEvent>> seen;
  for (std::int64_t now = 0; now <= 6000; now += 50) {
    for (DirectorEvent& e : d.after_tick(now, whole_world(25), within))
      seen.emplace_back(now, e);
  }
  // Steps at 1000, 2000, …: held from the step at 1000, fired at 4000 (3 s later), with 25
  // participants → 25 NPCs asked for at once.
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].first, 4000);
  EXPECT_EQ(seen[0].second.kind, K::kStarted);
  EXPECT_EQ(seen[0].second.event_id, "camp");
  EXPECT_EQ(seen[0].second.instance, instance_id("camp", 0));  // 4000 ms is in bucket 0 (10 s)
  EXPECT_EQ(seen[0].second.spawn_more, 25u);
  EXPECT_EQ(d.stats().samples, 6u);  // periods 0..5 closed by the ticks at 1000..6000
  EXPECT_EQ(d.stats().started, 1u);
  ASSERT_EQ(d.registry().running().size(), 1u);
  // The circle asked about is the event's area.
  ASSERT_FALSE(asked.empty());
  EXPECT_EQ(asked[0].x, 30);
  EXPECT_EQ(asked[0].z, 30);
  EXPECT_EQ(asked[0].radius, 50);
  EXPECT_EQ(d.players_in_areas().at("camp"), 25);
}

TEST(Director, ACrowdThatLeavesBeforeItsSecondsFiresNothing) {
  Director d(options(), catalog(kCamp));
  std::size_t events = 0;
  for (std::int64_t now = 0; now <= 10'000; now += 50) {
    // 25 inside for the steps at 1000 and 2000, 5 at 3000, 25 again from 4000: held from 4000,
    // due at 7000 — so by 6000 nothing.
    const double inside = (now >= 2500 && now < 3500) ? 5 : 25;
    events += d.after_tick(now, whole_world(25), [&](const Circle&) { return inside; }).size();
    if (now == 6000) {
      EXPECT_EQ(events, 0u);
    }
  }
  EXPECT_EQ(events, 1u);  // the start at 7000
  EXPECT_EQ(d.stats().started, 1u);
}

TEST(Director, TicksThatCloseNoPeriodStepNothing) {
  Director d(options(), catalog(kCamp));
  auto within = [](const Circle&) { return 100.0; };
  for (std::int64_t now = 0; now < 1000; now += 50)
    EXPECT_TRUE(d.after_tick(now, whole_world(100), within).empty());
  EXPECT_EQ(d.stats().samples, 0u);
  EXPECT_FALSE(d.density().latest_period().has_value());
  (void)d.after_tick(1000, whole_world(100), within);
  EXPECT_EQ(d.stats().samples, 1u);
  EXPECT_EQ(d.density().latest_period(), 0);
}

TEST(Director, ForecastSquaresTileTheWorldAndSeeTheirShareOfEachCell) {
  Director d(options(2), EventCatalog{});
  ASSERT_EQ(d.forecasts().size(), 4u);
  EXPECT_EQ(d.forecasts()[0].area, (Rect{0, 0, 50, 50}));
  EXPECT_EQ(d.forecasts()[1].area, (Rect{50, 0, 100, 50}));
  EXPECT_EQ(d.forecasts()[2].area, (Rect{0, 50, 50, 100}));
  EXPECT_EQ(d.forecasts()[3].area, (Rect{50, 50, 100, 100}));
  EXPECT_EQ(d.forecasts()[3].gx, 1);
  EXPECT_EQ(d.forecasts()[3].gz, 1);
  // 40 players in one leaf over the whole world, 8 actions a tick (160/s at 20 Hz): a quarter
  // each. A steady series forecasts itself.
  auto within = [](const Circle&) { return 0.0; };
  for (std::int64_t now = 0; now <= 30'000; now += 50)
    (void)d.after_tick(now, whole_world(40, 8), within);
  for (const ForecastArea& f : d.forecasts()) {
    EXPECT_DOUBLE_EQ(f.last_players, 10);
    EXPECT_DOUBLE_EQ(f.last_actions_per_s, 40);
    EXPECT_DOUBLE_EQ(f.players.forecast(10), 10);
    EXPECT_DOUBLE_EQ(f.actions.forecast(30), 40);
    EXPECT_EQ(f.players.observations(), 30u);
    ASSERT_TRUE(f.players.mape_percent(10).has_value());
    EXPECT_DOUBLE_EQ(*f.players.mape_percent(10), 0);
  }
}

// Proactive load: a square filling steadily (one leaf over the square (0,0)-(50,50), +5 entities
// a second) is expected to carry its forecast once its forecast has seen enough samples; a steady
// square and a square growing by less than the margin are not; nothing before min_observations.
TEST(Director, OnlyASquareWhoseForecastExceedsItsNowByTheMarginIsExpectedToFill) {
  Director d(options(2), EventCatalog{});
  auto within = [](const Circle&) { return 0.0; };
  ProactiveOptions p;  // 10 s ahead, margin max(5, 20 %), after 10 samples
  const auto cells = [](std::int64_t s) {
    return std::vector<CellCount>{
        CellCount{1, Rect{0, 0, 50, 50}, static_cast<std::uint32_t>(10 + 5 * s), 20},     // filling
        CellCount{2, Rect{50, 0, 100, 50}, 40, 0},                                        // steady
        CellCount{3, Rect{0, 50, 50, 100}, static_cast<std::uint32_t>(100 + s / 4), 0}};  // slow
  };
  for (std::int64_t now = 0; now <= 9'000; now += 50)
    (void)d.after_tick(now, cells(now / 1000), within);
  ASSERT_EQ(d.stats().samples, 9u);
  EXPECT_TRUE(d.expected_loads(p, 0.05).empty());  // 9 samples: not trusted yet
  for (std::int64_t now = 9'050; now <= 30'000; now += 50)
    (void)d.after_tick(now, cells(now / 1000), within);
  const auto expected = d.expected_loads(p, 0.05);
  ASSERT_EQ(expected.size(), 1u);
  const ForecastArea& f = d.forecasts()[0];
  EXPECT_EQ(expected[0].area, (Rect{0, 0, 50, 50}));
  EXPECT_DOUBLE_EQ(expected[0].entities_now, f.last_players);
  EXPECT_DOUBLE_EQ(f.last_players, 10 + 5 * 29);                       // the period 29 s–30 s
  EXPECT_NEAR(expected[0].entities_coming, f.last_players + 50, 1.0);  // 10 s of +5 a second
  EXPECT_EQ(expected[0].load, std::lround(f.players.forecast(10) + f.actions.forecast(10) * 0.05));
  // With a margin wider than the growth, nothing.
  p.margin_entities = 60;
  EXPECT_TRUE(d.expected_loads(p, 0.05).empty());
}

TEST(Director, ARedeployStartsNewInstancesFromTheNewDefinitionsAndLeavesTheRunningOne) {
  Director d(options(), catalog(kCamp));
  auto within = [](const Circle&) { return 25.0; };
  std::int64_t now = 0;
  for (; now <= 4000; now += 50)
    (void)d.after_tick(now, whole_world(25), within);
  ASSERT_EQ(d.registry().running().size(), 1u);
  const InstanceId running = d.registry().running()[0].id();
  d.deploy(EventCatalog{});
  EXPECT_TRUE(d.catalog().events.empty());
  EXPECT_EQ(d.stats().deploys, 1u);
  for (; now <= 8000; now += 50)
    (void)d.after_tick(now, whole_world(25), within);
  ASSERT_EQ(d.registry().running().size(), 1u);
  EXPECT_EQ(d.registry().running()[0].id(), running);
  EXPECT_TRUE(d.players_in_areas().empty());  // no deployed event left to count for
  EXPECT_EQ(d.registry().definition("camp"), nullptr);
}

TEST(Director, OptionsOutOfRangeAreRefused) {
  DirectorOptions o = options(0);
  EXPECT_THROW(Director(o, EventCatalog{}), std::invalid_argument);
  o = options(17);
  EXPECT_THROW(Director(o, EventCatalog{}), std::invalid_argument);
  o = options();
  o.world = Rect{0, 0, 0, 100};
  EXPECT_THROW(Director(o, EventCatalog{}), std::invalid_argument);
  o = options();
  o.density.sample_period_ms = 0;
  EXPECT_THROW(Director(o, EventCatalog{}), std::invalid_argument);
}

}  // namespace
}  // namespace worldline::region::director
