#include "region/director/experience.h"

#include <algorithm>

namespace worldline::region::director {

const char* to_string(Experience e) {
  switch (e) {
    case Experience::kEngaged:
      return "engaged";
    case Experience::kCrowded:
      return "crowded";
    case Experience::kWaiting:
      return "waiting";
    case Experience::kUnattended:
      return "unattended";
  }
  return "?";
}

Experience classify(const InstanceReading& reading, const ExperienceOptions& options) {
  if (!(reading.participants > 0)) return Experience::kUnattended;
  if (reading.npcs_alive == 0) return Experience::kWaiting;
  return reading.participants > options.crowded_players_per_npc * reading.npcs_alive
             ? Experience::kCrowded
             : Experience::kEngaged;
}

EventQuality& EventExperience::quality(std::string_view event_id) {
  auto it = by_event_.find(event_id);
  if (it == by_event_.end()) it = by_event_.emplace(std::string(event_id), EventQuality{}).first;
  return it->second;
}

void EventExperience::observe(std::string_view event_id, const InstanceReading& reading,
                              double step_s) {
  EventQuality& q = quality(event_id);
  q.seconds[static_cast<std::size_t>(classify(reading, options_))] += step_s;
  const double participants = std::max(0.0, reading.participants);
  q.participant_seconds += participants * step_s;
  q.peak_participants = std::max(q.peak_participants, participants);
}

void EventExperience::ended(std::string_view event_id, bool completed, std::int64_t started_ms,
                            std::int64_t ended_ms) {
  EventQuality& q = quality(event_id);
  if (completed) {
    ++q.completed;
    q.completion_seconds_sum +=
        static_cast<double>(std::max<std::int64_t>(0, ended_ms - started_ms)) / 1000;
  } else {
    ++q.failed;
  }
}

}  // namespace worldline::region::director
