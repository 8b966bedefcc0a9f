// EventExperience: how players experience the world events, per event definition — the quality
// side of requirement 5. The director feeds it once per step (its sample period) with every running
// instance's reading and the instances that ended; /metrics exports it (app/event_routes.cc).
// Pure bookkeeping, no clock of its own, bounded by the number of event ids ever deployed.
//
// Each step of a running instance counts its length in seconds to one of four experiences:
//   engaged     players in its area and NPCs to fight, at most `crowded_players_per_npc` each;
//   crowded     players in its area, more of them per live NPC than that (little to do each);
//   waiting     players in its area and no live NPC (not spawned yet — its claims have not
//               settled, docs/world-events.md — or all dead and the objective not reached);
//   unattended  nobody in its area (an event that spawned where nobody plays).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "region/director/event_lifecycle.h"

namespace worldline::region::director {

struct ExperienceOptions {
  double crowded_players_per_npc = 8;
};

enum class Experience { kEngaged, kCrowded, kWaiting, kUnattended };
inline constexpr std::size_t kExperiences = 4;
const char* to_string(Experience e);

// A running instance's step as players lived it.
Experience classify(const InstanceReading& reading, const ExperienceOptions& options);

struct EventQuality {
  double seconds[kExperiences] = {};  // instance-seconds in each Experience
  std::uint64_t completed = 0, failed = 0;
  double completion_seconds_sum = 0;  // started → completed, over the completed instances
  double participant_seconds = 0;     // Σ participants over the instance-seconds
  double peak_participants = 0;       // over every instance of the event
};

class EventExperience {
 public:
  explicit EventExperience(ExperienceOptions options = {}) : options_(options) {}

  // One director step (`step_s` seconds) of a running instance of `event_id`.
  void observe(std::string_view event_id, const InstanceReading& reading, double step_s);
  // An instance ended: completed (true) or failed, having run from started_ms to ended_ms.
  void ended(std::string_view event_id, bool completed, std::int64_t started_ms,
             std::int64_t ended_ms);

  const std::map<std::string, EventQuality, std::less<>>& by_event() const { return by_event_; }
  const ExperienceOptions& options() const { return options_; }

 private:
  EventQuality& quality(std::string_view event_id);  // created on first use

  ExperienceOptions options_;
  std::map<std::string, EventQuality, std::less<>> by_event_;
};

}  // namespace worldline::region::director
