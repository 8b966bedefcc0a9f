// The life of world events: EventInstance is one run of a definition (active → completed or
// failed), a pure state machine driven by the clock and what the caller measured; EventRegistry
// holds the deployed definitions, arms their triggers, starts and ends instances and cools down.
//
// Lifecycle of one definition (a "slot"):
//   armed ──trigger──▶ active (an instance) ──objective reached──▶ completed ─┐
//     ▲                   │ every rescale_every_s: levers re-evaluated        ├─▶ cooldown ─▶ armed
//     │                   └───────────duration elapsed──────────▶ failed ────┘
// Invariants:
//  1. an instance's NPC target (and its elites and objective) never decreases: re-evaluation
//     only asks for more, so an event never removes the NPCs it spawned to shrink;
//  2. a running instance keeps the definition it started with (shared_ptr to const): a
//     redeploy changes what new instances are made of, never a running one;
//  3. a slot has at most one running instance; a trigger of a slot that is active or cooling
//     down is not kept for later.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "region/director/event_definition.h"

namespace worldline::region::director {

// An event instance's id, the same on every region that sees the same trigger: FNV-1a (64 bit)
// of the event id and a salt — the scheduled time in ms for a schedule, the firing time's bucket
// for a density trigger, the parent instance's id for an `after` trigger or an escalation.
// Which region spawns the instance is decided by a first-claim on this id in replicated state;
// that claim is wired later (docs/world-events.md, "Not yet wired").
using InstanceId = std::uint64_t;
InstanceId instance_id(std::string_view event_id, std::uint64_t salt);

enum class InstancePhase { kActive, kCompleted, kFailed };

// What the caller measured for one instance this tick.
struct InstanceReading {
  double participants = 0;        // players within the instance's area radius
  std::uint32_t npcs_alive = 0;   // of the instance's NPCs; recorded, not yet a transition input
  double objective_progress = 0;  // in objective units (e.g. NPCs defeated), cumulative
};

struct InstanceUpdate {
  InstancePhase phase = InstancePhase::kActive;
  std::uint32_t spawn_more = 0;  // NPCs to spawn now (unsigned: never a removal)
  bool rescaled = false;         // a re-evaluation this call changed the tier or a lever
};

class EventInstance {
 public:
  // Starts at started_ms with `participants`: tier and levers from them, the deadline fixed at
  // started_ms + duration_s (re-evaluation does not move it). Nothing spawned yet: the first
  // advance() asks for the whole NPC target.
  EventInstance(InstanceId id, std::shared_ptr<const EventDefinition> definition,
                std::int64_t started_ms, double participants);

  // In order: objective_progress >= objective → completed; now_ms >= deadline → failed;
  // a rescale is due → tier and levers from the participants, targets raised, never lowered.
  // Then asks for the NPCs the target has beyond those already asked for. An ended instance
  // answers its phase and spawns nothing.
  InstanceUpdate advance(std::int64_t now_ms, const InstanceReading& reading);

  InstanceId id() const { return id_; }
  const EventDefinition& definition() const { return *definition_; }
  const std::shared_ptr<const EventDefinition>& definition_ptr() const { return definition_; }
  InstancePhase phase() const { return phase_; }
  std::size_t tier() const { return tier_; }
  const LeverValues& levers() const { return levers_; }  // npc_count etc. are the targets
  std::uint32_t npcs_requested() const { return requested_; }
  std::uint32_t npcs_alive() const { return npcs_alive_; }
  std::int64_t started_ms() const { return started_ms_; }
  std::int64_t deadline_ms() const { return deadline_ms_; }
  std::int64_t ended_ms() const { return ended_ms_; }  // 0 while active

 private:
  void evaluate(double participants, bool at_start);

  InstanceId id_;
  std::shared_ptr<const EventDefinition> definition_;
  InstancePhase phase_ = InstancePhase::kActive;
  std::size_t tier_ = 0;
  LeverValues levers_;
  std::uint32_t requested_ = 0;  // NPCs asked for so far; <= levers_.npc_count
  std::uint32_t npcs_alive_ = 0;
  std::int64_t started_ms_;
  std::int64_t deadline_ms_;
  std::int64_t next_rescale_ms_;
  std::int64_t ended_ms_ = 0;
};

struct RegistryOptions {
  // Density triggers: instance ids use floor(fire time / this), so regions that fire the same
  // event within one bucket agree on its id. Two firings straddling a bucket edge do not; the
  // first-claim then sees two ids (a known limit, docs/world-events.md).
  std::int64_t density_bucket_ms = 10'000;
};

// What the caller measured this tick, for the registry.
struct DirectorInputs {
  // Players inside each deployed event's area, by event id (absent: 0).
  std::map<std::string, double, std::less<>> players_in_area;
  // Each running instance's reading, by instance id (absent: all zeros).
  std::map<InstanceId, InstanceReading> instances;
};

enum class DirectorEventKind { kStarted, kRescaled, kCompleted, kFailed, kArmed };
const char* to_string(DirectorEventKind kind);

// What happened this tick, in order: ends, re-armings, starts (escalations and `after` first,
// then density and schedule triggers in event id order), rescales that changed something.
struct DirectorEvent {
  DirectorEventKind kind;
  std::string event_id;
  InstanceId instance = 0;       // 0 for kArmed
  std::uint32_t spawn_more = 0;  // kStarted, kRescaled
  std::size_t tier = 0;
  bool operator==(const DirectorEvent&) const = default;
};

enum class SlotPhase { kArmed, kActive, kCooldown, kUnknown };

class EventRegistry {
 public:
  // REQUIRES (here and in replace): a catalog from parse_event_catalog, or as valid; an event
  // without tiers throws std::invalid_argument.
  explicit EventRegistry(EventCatalog catalog, RegistryOptions options = {});

  // Redeploys: the catalog's definitions replace the current ones for every instance started
  // from now on. Running instances keep theirs and run to their end; a slot whose id stays keeps
  // its trigger state and cooldown.
  void replace(EventCatalog catalog);

  // One step at now_ms. REQUIRES: now_ms does not decrease across calls.
  std::vector<DirectorEvent> advance(std::int64_t now_ms, const DirectorInputs& inputs);

  const std::vector<EventInstance>& running() const { return running_; }
  const EventInstance* find(InstanceId id) const;
  SlotPhase phase(std::string_view event_id) const;
  const EventDefinition* definition(std::string_view event_id) const;

 private:
  struct Slot {
    std::shared_ptr<const EventDefinition> definition;
    std::optional<std::int64_t> held_since_ms;  // density: threshold held since
    InstanceId last_density_id = 0;             // the last instance its density trigger began
    std::int64_t cooldown_until_ms = 0;
    bool cooling = false;
  };

  bool is_running(std::string_view event_id) const;
  bool armed(const Slot& slot, std::int64_t now_ms) const;
  void start(std::int64_t now_ms, const Slot& slot, InstanceId id, const DirectorInputs& inputs,
             std::vector<DirectorEvent>& out);

  RegistryOptions options_;
  std::map<std::string, Slot, std::less<>> slots_;
  std::vector<EventInstance> running_;  // in start order
  std::optional<std::int64_t> last_now_ms_;
};

}  // namespace worldline::region::director
