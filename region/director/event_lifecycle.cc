// Event instances and the registry that arms, starts, ends and cools down world events.
#include "region/director/event_lifecycle.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>

namespace worldline::region::director {
namespace {

std::int64_t to_ms(double seconds) {
  return std::llround(seconds * 1000.0);
}

// Floor division for a clock that may be negative in tests and simulations.
std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

}  // namespace

InstanceId instance_id(std::string_view event_id, std::uint64_t salt) {
  // FNV-1a: fixed by its definition, so every region and every build computes the same id.
  std::uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&h](unsigned char byte) {
    h ^= byte;
    h *= 0x100000001b3ull;
  };
  for (char c : event_id)
    mix(static_cast<unsigned char>(c));
  mix(0);  // separates the id from the salt
  for (int i = 0; i < 8; ++i)
    mix(static_cast<unsigned char>(salt >> (8 * i)));
  return h;
}

EventInstance::EventInstance(InstanceId id, std::shared_ptr<const EventDefinition> definition,
                             std::int64_t started_ms, double participants)
    : id_(id), definition_(std::move(definition)), started_ms_(started_ms) {
  evaluate(participants, /*at_start=*/true);
  deadline_ms_ = started_ms_ + to_ms(levers_.duration_s);
  next_rescale_ms_ = started_ms_ + std::max<std::int64_t>(1, to_ms(definition_->rescale_every_s));
}

void EventInstance::evaluate(double participants, bool at_start) {
  const std::size_t tier = definition_->tier_index(participants);
  const LeverValues v = definition_->tiers[tier].at(participants);
  tier_ = tier;
  // Multipliers follow the crowd both ways; what the players can count — NPCs, elites, the
  // objective — only grows (invariant 1). The duration is the one fixed at the start.
  const double duration = at_start ? v.duration_s : levers_.duration_s;
  levers_.npc_health_mult = v.npc_health_mult;
  levers_.npc_damage_mult = v.npc_damage_mult;
  levers_.npc_count = std::max(levers_.npc_count, v.npc_count);
  levers_.elites = std::min(levers_.npc_count, std::max(levers_.elites, v.elites));
  levers_.objective = std::max(levers_.objective, v.objective);
  levers_.duration_s = duration;
}

InstanceUpdate EventInstance::advance(std::int64_t now_ms, const InstanceReading& reading) {
  InstanceUpdate u;
  if (phase_ != InstancePhase::kActive) {
    u.phase = phase_;
    return u;
  }
  npcs_alive_ = reading.npcs_alive;
  if (reading.objective_progress >= levers_.objective) {
    phase_ = InstancePhase::kCompleted;
  } else if (now_ms >= deadline_ms_) {
    phase_ = InstancePhase::kFailed;
  }
  if (phase_ != InstancePhase::kActive) {
    ended_ms_ = now_ms;
    u.phase = phase_;
    return u;
  }
  if (now_ms >= next_rescale_ms_) {
    const LeverValues before = levers_;
    const std::size_t tier_before = tier_;
    evaluate(reading.participants, /*at_start=*/false);
    u.rescaled = !(levers_ == before) || tier_ != tier_before;
    // The next one on the start's grid, skipping those a late call missed.
    const std::int64_t period = std::max<std::int64_t>(1, to_ms(definition_->rescale_every_s));
    next_rescale_ms_ = started_ms_ + (floor_div(now_ms - started_ms_, period) + 1) * period;
  }
  u.spawn_more = levers_.npc_count - requested_;
  requested_ = levers_.npc_count;
  return u;
}

const char* to_string(DirectorEventKind kind) {
  switch (kind) {
    case DirectorEventKind::kStarted:
      return "started";
    case DirectorEventKind::kRescaled:
      return "rescaled";
    case DirectorEventKind::kCompleted:
      return "completed";
    case DirectorEventKind::kFailed:
      return "failed";
    case DirectorEventKind::kArmed:
      return "armed";
  }
  return "?";
}

EventRegistry::EventRegistry(EventCatalog catalog, RegistryOptions options) : options_(options) {
  options_.density_bucket_ms = std::max<std::int64_t>(1, options_.density_bucket_ms);
  replace(std::move(catalog));
}

void EventRegistry::replace(EventCatalog catalog) {
  std::map<std::string, Slot, std::less<>> slots;
  for (EventDefinition& d : catalog.events) {
    if (d.tiers.empty()) {
      // A bug in the caller: catalogs come from parse_event_catalog, which refuses this.
      throw std::invalid_argument("EventRegistry: event '" + d.id + "' has no tiers");
    }
    Slot slot;
    auto old = slots_.find(d.id);
    if (old != slots_.end()) {
      slot = old->second;
      // A changed trigger starts counting afresh; the cooldown stays.
      // A threshold held for the old trigger or at the old place is not held for the new one.
      if (!(slot.definition->trigger == d.trigger) || !(slot.definition->area == d.area)) {
        slot.held_since_ms.reset();
      }
    }
    const std::string id = d.id;
    slot.definition = std::make_shared<const EventDefinition>(std::move(d));
    slots.emplace(id, std::move(slot));
  }
  slots_ = std::move(slots);
}

bool EventRegistry::is_running(std::string_view event_id) const {
  return std::any_of(running_.begin(), running_.end(),
                     [&](const EventInstance& i) { return i.definition().id == event_id; });
}

bool EventRegistry::armed(const Slot& slot, std::int64_t now_ms) const {
  return !(slot.cooling && now_ms < slot.cooldown_until_ms) && !is_running(slot.definition->id);
}

void EventRegistry::start(std::int64_t now_ms, const Slot& slot, InstanceId id,
                          const DirectorInputs& inputs, std::vector<DirectorEvent>& out) {
  const std::string& event_id = slot.definition->id;
  auto p = inputs.players_in_area.find(event_id);
  const double participants = p == inputs.players_in_area.end() ? 0 : p->second;
  EventInstance& instance = running_.emplace_back(id, slot.definition, now_ms, participants);
  const InstanceUpdate u = instance.advance(now_ms, InstanceReading{participants, 0, 0});
  out.push_back({DirectorEventKind::kStarted, event_id, id, u.spawn_more, instance.tier()});
}

std::vector<DirectorEvent> EventRegistry::advance(std::int64_t now_ms,
                                                  const DirectorInputs& inputs) {
  std::vector<DirectorEvent> out;
  std::vector<std::pair<std::string, InstanceId>> follow_ups;  // (event to start, parent id)

  // 1. Running instances: ends first, so a slot freed now can be re-armed and followed up.
  std::vector<EventInstance> still_running;
  std::vector<DirectorEvent> rescales;
  for (EventInstance& instance : running_) {
    auto r = inputs.instances.find(instance.id());
    const InstanceReading reading = r == inputs.instances.end() ? InstanceReading{} : r->second;
    const InstanceUpdate u = instance.advance(now_ms, reading);
    const EventDefinition& d = instance.definition();
    if (u.phase == InstancePhase::kActive) {
      if (u.rescaled) {
        rescales.push_back(
            {DirectorEventKind::kRescaled, d.id, instance.id(), u.spawn_more, instance.tier()});
      }
      still_running.push_back(std::move(instance));
      continue;
    }
    const bool completed = u.phase == InstancePhase::kCompleted;
    out.push_back({completed ? DirectorEventKind::kCompleted : DirectorEventKind::kFailed, d.id,
                   instance.id(), 0, instance.tier()});
    if (auto slot = slots_.find(d.id); slot != slots_.end()) {
      // The cooldown the instance started with (invariant 2).
      slot->second.cooling = true;
      slot->second.cooldown_until_ms = now_ms + to_ms(d.cooldown_s);
      slot->second.held_since_ms.reset();
    }
    if (completed) {
      if (d.escalates_to) follow_ups.emplace_back(*d.escalates_to, instance.id());
      for (const auto& [id, slot] : slots_) {
        const Trigger& t = slot.definition->trigger;
        if (t.kind == TriggerKind::kAfter && t.after == d.id)
          follow_ups.emplace_back(id, instance.id());
      }
    }
  }
  running_ = std::move(still_running);

  // 2. Cooldowns that are over.
  for (auto& [id, slot] : slots_) {
    if (slot.cooling && now_ms >= slot.cooldown_until_ms) {
      slot.cooling = false;
      out.push_back({DirectorEventKind::kArmed, id, 0, 0, 0});
    }
  }

  // 3. Escalations and `after` triggers of what completed just now.
  for (const auto& [event_id, parent] : follow_ups) {
    auto slot = slots_.find(event_id);
    if (slot == slots_.end() || !armed(slot->second, now_ms)) continue;
    start(now_ms, slot->second, instance_id(event_id, parent), inputs, out);
  }

  // 4. Density and schedule triggers of armed slots.
  for (auto& [event_id, slot] : slots_) {
    const Trigger& t = slot.definition->trigger;
    if (!armed(slot, now_ms)) {
      slot.held_since_ms.reset();  // a threshold is only held while armed
      continue;
    }
    if (t.kind == TriggerKind::kDensity) {
      auto p = inputs.players_in_area.find(event_id);
      const double players = p == inputs.players_in_area.end() ? 0 : p->second;
      if (!(players >= t.players)) {  // NaN holds nothing
        slot.held_since_ms.reset();
        continue;
      }
      if (!slot.held_since_ms) slot.held_since_ms = now_ms;
      if (now_ms - *slot.held_since_ms < to_ms(t.for_s)) continue;
      slot.held_since_ms.reset();
      const std::int64_t bucket = floor_div(now_ms, options_.density_bucket_ms);
      InstanceId id = instance_id(event_id, static_cast<std::uint64_t>(bucket));
      // Fired again within one bucket (a short cooldown): the next id in a chain every region
      // that saw the same firings derives alike, never the previous instance's.
      while (id == slot.last_density_id)
        id = instance_id(event_id, id);
      slot.last_density_id = id;
      start(now_ms, slot, id, inputs, out);
    } else if (t.kind == TriggerKind::kSchedule) {
      // The latest scheduled time in (last call, now] — on the first call only now itself.
      const std::int64_t every = std::max<std::int64_t>(1, to_ms(t.every_s));
      const std::int64_t offset = to_ms(t.offset_s);
      const std::int64_t at = offset + floor_div(now_ms - offset, every) * every;
      const bool due = at >= offset && (last_now_ms_ ? at > *last_now_ms_ : at == now_ms);
      if (!due) continue;
      start(now_ms, slot, instance_id(event_id, static_cast<std::uint64_t>(at)), inputs, out);
    }
  }
  out.insert(out.end(), rescales.begin(), rescales.end());
  last_now_ms_ = now_ms;
  return out;
}

const EventInstance* EventRegistry::find(InstanceId id) const {
  for (const EventInstance& i : running_) {
    if (i.id() == id) return &i;
  }
  return nullptr;
}

SlotPhase EventRegistry::phase(std::string_view event_id) const {
  auto slot = slots_.find(event_id);
  if (slot == slots_.end()) return SlotPhase::kUnknown;
  if (is_running(event_id)) return SlotPhase::kActive;
  if (slot->second.cooling) return SlotPhase::kCooldown;
  return SlotPhase::kArmed;
}

const EventDefinition* EventRegistry::definition(std::string_view event_id) const {
  auto slot = slots_.find(event_id);
  return slot == slots_.end() ? nullptr : slot->second.definition.get();
}

}  // namespace worldline::region::director
