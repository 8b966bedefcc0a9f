// NPCs of world events: their entity ids (a reserved range no player or other instance uses) and
// their behaviour, a small pure state machine. The region that spawns an instance runs it once a
// tick for each of the instance's NPCs (app/event_npcs.h): from the NPC's state and the live
// players near it, its next mode and the one action it takes, which goes through the pipeline
// like a player's. No I/O, no clock, no randomness: the same inputs give the same decision.
//
//   idle ──a player within aggro_range──▶ chase ──within attack_range──▶ attack (every cooldown)
//     ▲                                     │ health ≤ flee_below × max ──▶ flee (away from it)
//     └──────────no player in range─────────┘ health ≤ 0 ──▶ dead (does nothing, ever)
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "crdt/components.h"
#include "region/director/event_lifecycle.h"

namespace worldline::region::director {

// NPC entity ids: bit 63 set (kNpcIdMarker), then 43 bits of the instance id, then a 20-bit index
// within the instance. Every region derives the same id for the same NPC, so they can read an
// instance's NPCs from replicated state. Player ids are refused in this range where tokens
// are verified (gateway/token.cc), so an NPC never shares an id with a player; two instances
// share ids only if their ids agree on those 43 bits (docs/state-model.md).
inline constexpr std::uint64_t kNpcIdMarker = std::uint64_t{1} << 63;
inline constexpr int kNpcIndexBits = 20;
inline constexpr std::uint32_t kMaxNpcsPerInstance = std::uint32_t{1} << kNpcIndexBits;

// REQUIRES: index < kMaxNpcsPerInstance.
crdt::EntityId npc_entity_id(InstanceId instance, std::uint32_t index);
inline bool is_npc(crdt::EntityId id) {
  return (id & kNpcIdMarker) != 0;
}

enum class NpcMode : std::uint8_t { kIdle, kChase, kAttack, kFlee, kDead };
const char* to_string(NpcMode mode);

// How NPCs behave and how tough they are. Distances in world units, times in ticks.
struct NpcBehaviour {
  double aggro_range = 30;  // players further away are not noticed
  // Attacks a player this close. At most the rules' attack_range (GameConfig), or every swing
  // is refused as out of range.
  double attack_range = 4;
  // Ticks between two swings; at least the rules' attack_cooldown_ticks.
  std::uint32_t attack_cooldown_ticks = 10;
  double flee_below = 0.25;  // flees while health ≤ this fraction of its spawn health
  // Moved per tick when chasing or fleeing; at most the rules' max_speed_per_tick.
  double step = 5;
  std::int64_t health = 50;      // a regular NPC's health, before the health lever
  double elite_health_mult = 3;  // an elite's health is this many times a regular's
  // NPCs one region runs at once, all instances together: a catalog asking for more (up to a
  // million per event) would write them all in one group and run a brain each every tick.
  std::uint32_t max_alive = 10'000;
};

struct NpcState {
  NpcMode mode = NpcMode::kIdle;
  crdt::Vec3 position;
  std::int64_t health = 0;
  std::int64_t max_health = 0;  // at spawn: the flee threshold is a fraction of it
  std::optional<std::uint64_t> last_attack_tick;
};

// A live player near the NPC (the caller leaves out the dead, other NPCs and items).
struct SeenPlayer {
  crdt::EntityId id = 0;
  crdt::Vec3 position;
};

struct NpcAction {
  enum class Kind : std::uint8_t { kNone, kMove, kAttack };
  Kind kind = Kind::kNone;
  crdt::Vec3 to;              // kMove
  crdt::EntityId target = 0;  // kAttack
  bool operator==(const NpcAction&) const = default;
};

struct NpcDecision {
  NpcState next;  // mode and last_attack_tick updated; position and health as given
  NpcAction action;
};

// One tick's decision at `tick`, in this order: dead (health ≤ 0) does nothing; no player within
// aggro_range → idle; low health (≤ flee_below × max_health) → flee: a step straight away from
// the nearest player; the nearest within attack_range → attack if the cooldown has passed since
// the last swing (else waits, in attack mode); otherwise chase: a step towards the nearest,
// stopping at half the attack range from it. Nearest: by distance, then by lower id.
NpcDecision decide(const NpcState& npc, std::span<const SeenPlayer> players, std::uint64_t tick,
                   const NpcBehaviour& behaviour);

}  // namespace worldline::region::director
