// Player-experience metrics of world events (region/director/experience.h): each step of a
// running instance is engaged, crowded, waiting or unattended by its exact reading; completion
// times and participation add up; the Director feeds it every step and every end.
#include "region/director/experience.h"

#include <gtest/gtest.h>

#include <string>

#include "region/director/director.h"

namespace worldline::region::director {
namespace {

InstanceReading reading(double participants, std::uint32_t alive) {
  InstanceReading r;
  r.participants = participants;
  r.npcs_alive = alive;
  return r;
}

TEST(EventExperience, EachStepIsClassifiedByPlayersPerLiveNpc) {
  const ExperienceOptions o;  // crowded above 8 players per live NPC
  EXPECT_EQ(classify(reading(0, 5), o), Experience::kUnattended);
  EXPECT_EQ(classify(reading(0, 0), o), Experience::kUnattended);
  EXPECT_EQ(classify(reading(3, 0), o), Experience::kWaiting);
  EXPECT_EQ(classify(reading(16, 2), o), Experience::kEngaged);  // 8 each: not above
  EXPECT_EQ(classify(reading(17, 2), o), Experience::kCrowded);
  EXPECT_EQ(classify(reading(1, 1), ExperienceOptions{0.5}), Experience::kCrowded);
  EXPECT_STREQ(to_string(Experience::kWaiting), "waiting");
}

TEST(EventExperience, SecondsParticipationAndCompletionsAddUpPerEvent) {
  EventExperience x;
  x.observe("camp", reading(4, 2), 1.0);   // engaged
  x.observe("camp", reading(4, 0), 1.0);   // waiting
  x.observe("camp", reading(0, 2), 0.5);   // unattended, a half-second step
  x.observe("camp", reading(40, 2), 1.0);  // crowded
  x.observe("boss", reading(2, 1), 2.0);   // engaged
  x.ended("camp", true, 1'000, 31'000);    // 30 s
  x.ended("camp", true, 5'000, 15'000);    // 10 s
  x.ended("camp", false, 0, 60'000);
  const auto& camp = x.by_event().at("camp");
  EXPECT_EQ(camp.seconds[static_cast<int>(Experience::kEngaged)], 1.0);
  EXPECT_EQ(camp.seconds[static_cast<int>(Experience::kWaiting)], 1.0);
  EXPECT_EQ(camp.seconds[static_cast<int>(Experience::kUnattended)], 0.5);
  EXPECT_EQ(camp.seconds[static_cast<int>(Experience::kCrowded)], 1.0);
  EXPECT_EQ(camp.participant_seconds, 48.0);  // 4 + 4 + 0 + 40
  EXPECT_EQ(camp.peak_participants, 40.0);
  EXPECT_EQ(camp.completed, 2u);
  EXPECT_EQ(camp.failed, 1u);
  EXPECT_EQ(camp.completion_seconds_sum, 40.0);
  const auto& boss = x.by_event().at("boss");
  EXPECT_EQ(boss.seconds[static_cast<int>(Experience::kEngaged)], 2.0);
  EXPECT_EQ(boss.participant_seconds, 4.0);
  EXPECT_EQ(boss.completed + boss.failed, 0u);
  EXPECT_EQ(x.by_event().size(), 2u);
}

// A scheduled event that runs 3 s with 5 players and 2 NPCs alive, then 1 s with its NPCs dead
// (waiting), then completes when the objective is read as met.
TEST(EventExperience, TheDirectorFeedsEveryRunningStepAndTheEnd) {
  const char* kTrial = R"(
[[event]]
id = "trial"
trigger = { kind = "schedule", every_s = 1000, offset_s = 1 }
area = { x = 50, z = 50, radius = 20 }

[[event.tiers]]
npc_count = { base = 2, floor = 2, cap = 2 }
objective = { base = 2, floor = 2, cap = 2 }
duration_s = { base = 60, floor = 60, cap = 60 }
)";
  auto parsed = parse_event_catalog(kTrial, "trial.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  DirectorOptions o;
  o.world = Rect{0, 0, 100, 100};
  o.forecast_grid = 1;
  Director d(o, parsed.value());
  std::uint32_t alive = 2;
  double defeated = 0;
  auto within = [](const Circle&) { return 5.0; };
  auto read = [&](InstanceId) {
    InstanceReading r;
    r.npcs_alive = alive;
    r.objective_progress = defeated;
    return r;
  };
  const std::vector<CellCount> cells{CellCount{1, Rect{0, 0, 100, 100}, 5, 0}};
  std::int64_t started = -1, ended = -1;
  for (std::int64_t now = 0; now <= 8000 && ended < 0; now += 50) {
    // Steps at 1000 (start), 2000, 3000, 4000 with both alive; at 5000 both dead but the
    // objective not yet read as met; at 6000 it is: completed.
    if (now == 4500) alive = 0;
    if (now == 5500) defeated = 2;
    for (const DirectorEvent& e : d.after_tick(now, cells, within, read)) {
      if (e.kind == DirectorEventKind::kStarted) started = now;
      if (e.kind == DirectorEventKind::kCompleted) ended = now;
    }
  }
  ASSERT_EQ(started, 1000);
  ASSERT_EQ(ended, 6000);
  const EventQuality& q = d.experience().by_event().at("trial");
  // Running at the steps 2000..6000 (the step that starts it reads nothing yet): 3 engaged
  // (2000, 3000, 4000), 2 waiting (5000, and 6000 where it completes).
  EXPECT_EQ(q.seconds[static_cast<int>(Experience::kEngaged)], 3.0);
  EXPECT_EQ(q.seconds[static_cast<int>(Experience::kWaiting)], 2.0);
  EXPECT_EQ(q.seconds[static_cast<int>(Experience::kCrowded)], 0.0);
  EXPECT_EQ(q.seconds[static_cast<int>(Experience::kUnattended)], 0.0);
  EXPECT_EQ(q.participant_seconds, 25.0);
  EXPECT_EQ(q.completed, 1u);
  EXPECT_EQ(q.failed, 0u);
  EXPECT_EQ(q.completion_seconds_sum, 5.0);  // started at the step ending 1000, ended at 6000
}

}  // namespace
}  // namespace worldline::region::director
