#include "app/event_npcs.h"

#include <algorithm>
#include <cmath>

#include <spdlog/spdlog.h>

#include "region/game_rules.h"

namespace worldline::app {

namespace director = region::director;
using replica::ComponentValue;
using replica::Key;

std::uint32_t EventNpcs::spawn(replica::Replica& world, crdt::HlcClock& clock,
                               const director::EventInstance& instance, std::uint32_t count) {
  Instance& in = instances_[instance.id()];
  in.gold = instance.definition().rewards.gold;
  in.damage_mult = instance.levers().npc_damage_mult;
  const director::LeverValues& levers = instance.levers();
  const director::EventArea& area = instance.definition().area;
  // The ring's slots are fixed by the NPC target at this call: a rescale's NPCs fill the slots
  // of a larger ring, and may stand near earlier ones (they spread once they chase).
  const double ring = area.radius / 4;
  const std::uint32_t slots = std::max(levers.npc_count, in.spawned + count);
  std::uint32_t made = 0;
  for (; made < count && in.spawned < director::kMaxNpcsPerInstance &&
         stats_.alive < behaviour_.max_alive;
       ++made) {
    const std::uint32_t index = in.spawned++;
    const bool elite = in.elites < levers.elites;
    if (elite) ++in.elites;
    const double angle = 6.283185307179586 * index / slots;
    const crdt::Vec3 at{area.x + ring * std::cos(angle), 0, area.z + ring * std::sin(angle)};
    const double mult = levers.npc_health_mult * (elite ? behaviour_.elite_health_mult : 1);
    const std::int64_t health =
        std::max<std::int64_t>(1, std::llround(static_cast<double>(behaviour_.health) * mult));
    const crdt::EntityId id = director::npc_entity_id(instance.id(), index);
    (void)world.write(Key{id, region::kPositionComponent},
                      [&](ComponentValue& v) -> std::optional<ComponentValue> {
                        return std::get<crdt::Position>(v).assign(at, clock.now());
                      });
    (void)world.write(Key{id, region::kHealthComponent},
                      [&](ComponentValue& v) -> std::optional<ComponentValue> {
                        return std::get<crdt::Health>(v).increment(
                            world.id(), static_cast<std::uint64_t>(health));
                      });
    (void)world.write(Key{id, kNpcKindComponent},
                      [&](ComponentValue& v) -> std::optional<ComponentValue> {
                        return replica::value_as<crdt::DisplayName>(v).assign(
                            world.id(), elite ? "elite" : "grunt");
                      });
    Npc npc;
    npc.id = id;
    npc.instance = instance.id();
    npc.brain.position = at;
    npc.brain.health = npc.brain.max_health = health;
    npcs_[id] = npc;
    ++stats_.spawned;
    ++stats_.alive;
  }
  if (made < count) {
    stats_.not_spawned += count - made;
    spdlog::warn(
        "world event instance {:016x}: {} of {} NPCs asked for not spawned (this region runs at "
        "most {} at once, and an instance at most {})",
        instance.id(), count - made, count, behaviour_.max_alive, director::kMaxNpcsPerInstance);
  }
  return made;
}

void EventNpcs::rescaled(const director::EventInstance& instance) {
  if (const auto in = instances_.find(instance.id()); in != instances_.end()) {
    in->second.damage_mult = instance.levers().npc_damage_mult;
  }
}

std::int64_t EventNpcs::damage_of(crdt::EntityId npc, std::int64_t base) const {
  const auto n = npcs_.find(npc);
  if (n == npcs_.end()) return base;
  const auto in = instances_.find(n->second.instance);
  if (in == instances_.end()) return base;
  return std::llround(static_cast<double>(base) * in->second.damage_mult);
}

void EventNpcs::act(const replica::Replica& world, region::RegionPipeline& pipeline,
                    std::uint64_t tick, std::uint64_t now_ms) {
  batch_.clear();
  actors_.clear();
  std::vector<director::SeenPlayer> near;
  for (auto& [id, npc] : npcs_) {
    if (npc.dead) continue;
    const auto pos = region::GameRules::position(world, id);
    if (!pos) continue;  // its position was never written here (cannot happen once spawned)
    npc.brain.position = *pos;
    npc.brain.health = region::GameRules::health(world, id);
    near.clear();
    // Players: live entities that are no NPC (items have no health).
    for (const crdt::EntityId e : pipeline.within(pos->x, pos->z, behaviour_.aggro_range)) {
      if (director::is_npc(e) || region::GameRules::health(world, e) <= 0) continue;
      if (const auto p = region::GameRules::position(world, e)) near.push_back({e, *p});
    }
    const director::NpcDecision d = director::decide(npc.brain, near, tick, behaviour_);
    npc.brain = d.next;
    if (d.next.mode == director::NpcMode::kDead) {
      npc.dead = true;
      ++stats_.defeated;
      --stats_.alive;
      continue;
    }
    if (d.action.kind == director::NpcAction::Kind::kNone) continue;
    region::Action a;
    a.actor = id;
    a.client_seq = ++npc.seq;
    a.client_time_ms = now_ms;
    if (d.action.kind == director::NpcAction::Kind::kMove) {
      a.kind = region::ActionKind::kMove;
      a.position = d.action.to;
    } else {
      a.kind = region::ActionKind::kAttack;
      a.target = d.action.target;
      // Aimed at the target as the NPC sees it: an NPC's swing meets the aim rule like a
      // player's, and `[region] require_aim` (which refuses aimless attacks) does not disarm it.
      for (const director::SeenPlayer& p : near) {
        if (p.id != a.target) continue;
        const double dx = p.position.x - pos->x, dy = p.position.y - pos->y,
                     dz = p.position.z - pos->z;
        const double len = std::sqrt(dx * dx + dy * dy + dz * dz);
        if (len > 1e-6) a.aim = crdt::Vec3{dx / len, dy / len, dz / len};
      }
    }
    batch_.push_back(region::Submission{static_cast<int>(a.kind), std::move(a)});
    actors_.push_back(id);
  }
  if (batch_.empty()) return;
  stats_.actions += batch_.size();
  for (const auto& r : pipeline.submit_all(batch_, now_ms)) {
    // An NPC's actions are built valid: a refusal is a bug here, logged with what was refused.
    ++stats_.refused;
    spdlog::warn("NPC {:016x}: action refused at submission: {}", actors_[r.index],
                 r.reject.detail);
  }
}

void EventNpcs::record_hit(crdt::EntityId player, crdt::EntityId npc, std::int64_t damage) {
  std::lock_guard<std::mutex> lock(hits_mutex_);
  hits_.push_back(Hit{player, npc, damage});
}

void EventNpcs::take_hits() {
  std::vector<Hit> hits;
  {
    std::lock_guard<std::mutex> lock(hits_mutex_);
    hits.swap(hits_);
  }
  for (const Hit& h : hits) {
    const auto npc = npcs_.find(h.npc);
    if (npc == npcs_.end()) continue;  // another region's NPC, or of an ended instance
    instances_[npc->second.instance].damage[h.player] += h.damage;
  }
}

std::map<crdt::EntityId, std::uint64_t> EventNpcs::end(replica::Replica& world,
                                                       director::InstanceId instance,
                                                       bool completed) {
  std::map<crdt::EntityId, std::uint64_t> paid;
  const auto in = instances_.find(instance);
  if (in == instances_.end()) return paid;
  if (completed) paid = director::split_gold(in->second.gold, in->second.damage);
  for (const auto& [player, gold] : paid) {
    if (gold == 0) continue;
    (void)world.write(Key{player, kGoldComponent},
                      [&](ComponentValue& v) -> std::optional<ComponentValue> {
                        return replica::value_as<crdt::Gold>(v).increment(world.id(), gold);
                      });
    stats_.gold_paid += gold;
  }
  for (auto it = npcs_.begin(); it != npcs_.end();) {
    if (it->second.instance != instance) {
      ++it;
      continue;
    }
    if (!it->second.dead) {
      --stats_.alive;
      // Killed since its brain last looked (the instance completes on the step after the kill).
      if (region::GameRules::health(world, it->first) <= 0) ++stats_.defeated;
    }
    it = npcs_.erase(it);
  }
  instances_.erase(in);
  return paid;
}

director::InstanceReading EventNpcs::read(const replica::Replica& world,
                                          director::InstanceId instance) {
  director::InstanceReading r;
  for (std::uint32_t i = 0; i < director::kMaxNpcsPerInstance; ++i) {
    const crdt::EntityId id = director::npc_entity_id(instance, i);
    if (!region::GameRules::position(world, id)) break;
    if (region::GameRules::health(world, id) > 0) {
      ++r.npcs_alive;
    } else {
      r.objective_progress += 1;
    }
  }
  return r;
}

std::vector<director::InstanceId> EventNpcs::instances() const {
  std::vector<director::InstanceId> out;
  out.reserve(instances_.size());
  for (const auto& [id, in] : instances_)
    out.push_back(id);
  return out;
}

const director::Contributions* EventNpcs::contributions(director::InstanceId instance) const {
  const auto in = instances_.find(instance);
  return in == instances_.end() ? nullptr : &in->second.damage;
}

}  // namespace worldline::app
