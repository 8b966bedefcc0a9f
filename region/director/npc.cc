#include "region/director/npc.h"

#include <cmath>

namespace worldline::region::director {
namespace {

double distance(const crdt::Vec3& a, const crdt::Vec3& b) {
  const double dx = a.x - b.x, dy = a.y - b.y, dz = a.z - b.z;
  return std::sqrt(dx * dx + dy * dy + dz * dz);
}

// `from` moved `by` world units along the direction (dx, dz) of the ground plane.
crdt::Vec3 step_along(const crdt::Vec3& from, double dx, double dz, double by) {
  const double len = std::sqrt(dx * dx + dz * dz);
  if (len <= 1e-9) return {from.x + by, from.y, from.z};  // on top of it: any way will do
  return {from.x + dx / len * by, from.y, from.z + dz / len * by};
}

}  // namespace

crdt::EntityId npc_entity_id(InstanceId instance, std::uint32_t index) {
  constexpr std::uint64_t kInstanceMask = (std::uint64_t{1} << (63 - kNpcIndexBits)) - 1;
  return kNpcIdMarker | ((instance & kInstanceMask) << kNpcIndexBits) |
         (index & (kMaxNpcsPerInstance - 1));
}

const char* to_string(NpcMode mode) {
  switch (mode) {
    case NpcMode::kIdle:
      return "idle";
    case NpcMode::kChase:
      return "chase";
    case NpcMode::kAttack:
      return "attack";
    case NpcMode::kFlee:
      return "flee";
    case NpcMode::kDead:
      return "dead";
  }
  return "?";
}

NpcDecision decide(const NpcState& npc, std::span<const SeenPlayer> players, std::uint64_t tick,
                   const NpcBehaviour& b) {
  NpcDecision d{npc, {}};
  if (npc.health <= 0) {
    d.next.mode = NpcMode::kDead;
    return d;
  }
  const SeenPlayer* nearest = nullptr;
  double nearest_d = 0;
  for (const SeenPlayer& p : players) {
    const double r = distance(npc.position, p.position);
    if (r > b.aggro_range) continue;
    if (!nearest || r < nearest_d || (r == nearest_d && p.id < nearest->id)) {
      nearest = &p;
      nearest_d = r;
    }
  }
  if (!nearest) {
    d.next.mode = NpcMode::kIdle;
    return d;
  }
  const double dx = nearest->position.x - npc.position.x;
  const double dz = nearest->position.z - npc.position.z;
  if (static_cast<double>(npc.health) <= b.flee_below * static_cast<double>(npc.max_health)) {
    d.next.mode = NpcMode::kFlee;
    d.action = {NpcAction::Kind::kMove, step_along(npc.position, -dx, -dz, b.step), 0};
    return d;
  }
  if (nearest_d <= b.attack_range) {
    d.next.mode = NpcMode::kAttack;
    if (!npc.last_attack_tick || tick >= *npc.last_attack_tick + b.attack_cooldown_ticks) {
      d.next.last_attack_tick = tick;
      d.action = {NpcAction::Kind::kAttack, {}, nearest->id};
    }
    return d;
  }
  d.next.mode = NpcMode::kChase;
  const double by = std::min(b.step, nearest_d - b.attack_range / 2);
  d.action = {NpcAction::Kind::kMove, step_along(npc.position, dx, dz, by), 0};
  return d;
}

}  // namespace worldline::region::director
