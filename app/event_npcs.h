// EventNpcs: the NPCs of the world-event instances this region spawns (its spawner claim won),
// on the node's loop (RegionApp). It spawns them as writes between ticks, runs their brains
// (region/director/npc.h) before every tick and submits their actions to the pipeline, stamped
// and scheduled like a player's; their effects are the game rules' deltas, journaled and
// replicated like any. It also keeps who hit them how hard, to pay an instance's gold by
// contribution when it completes.
// Thread safety: the node's loop thread, except record_hit (the attack rule, on the workers).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <vector>

#include "crdt/hlc.h"
#include "region/action_observer.h"
#include "region/director/event_lifecycle.h"
#include "region/director/npc.h"
#include "region/director/rewards.h"
#include "region/pipeline.h"
#include "replica/replica.h"

namespace worldline::app {

// Component of an NPC holding its kind as text ("grunt", "elite"): the display name's register.
inline constexpr replica::ComponentId kNpcKindComponent = 10;  // display_name
// A player's gold, a bounded counter (never below 0), where an event's reward is paid.
inline constexpr replica::ComponentId kGoldComponent = 4;

struct NpcStats {
  std::uint64_t spawned = 0;   // NPCs spawned here since the start
  std::uint64_t defeated = 0;  // of those, seen dead by their brain
  std::uint64_t alive = 0;     // spawned here, not yet seen dead, of running instances
  std::uint64_t actions = 0;   // submitted to the pipeline
  std::uint64_t refused = 0;   // of those, refused at submission (never expected)
  std::uint64_t gold_paid = 0;
  std::uint64_t not_spawned = 0;  // asked for beyond NpcBehaviour::max_alive, not spawned
};

// The anticheat's tap without the NPCs: their actions are the server's own, and a detector
// watching them would keep statistics (and raise flags) on entities that are nobody's account.
class PlayersOnlyObserver final : public region::ActionObserver {
 public:
  explicit PlayersOnlyObserver(region::ActionObserver& inner) : inner_(inner) {}
  void observe(const region::Action& action, const region::Outcome& actor_half,
               std::uint64_t tick) override {
    if (!region::director::is_npc(action.actor)) inner_.observe(action, actor_half, tick);
  }

 private:
  region::ActionObserver& inner_;
};

class EventNpcs {
 public:
  explicit EventNpcs(region::director::NpcBehaviour behaviour) : behaviour_(behaviour) {}

  // Spawns `count` more NPCs of `instance` on a ring around its area's centre (a quarter of the
  // radius): position, health (NpcBehaviour::health × the health lever, × elite_health_mult for
  // elites — the first ones until the instance's elite target is met) and kind, written to
  // `world` now (between ticks: the pipeline places them at the next tick's start). Returns how
  // many it spawned (fewer only at kMaxNpcsPerInstance).
  std::uint32_t spawn(replica::Replica& world, crdt::HlcClock& clock,
                      const region::director::EventInstance& instance, std::uint32_t count);

  // The instance's levers changed (a rescale): its NPCs' damage follows npc_damage_mult from the
  // next tick on (their health stays what it was at their spawn).
  void rescaled(const region::director::EventInstance& instance);

  // The health an NPC's hit takes: the rules' attack_damage × its instance's npc_damage_mult,
  // rounded (`base` for an NPC not spawned here). Called by the attack rule on the workers;
  // REQUIRES: no spawn(), end() or rescaled() meanwhile (they run between ticks).
  std::int64_t damage_of(crdt::EntityId npc, std::int64_t base) const;

  // Before a tick: each live NPC's decision from the world as the last tick left it (its
  // position and health, the live players within aggro range); moves and attacks go to the
  // pipeline in one batch, with the NPC's id as actor and its own sequence numbers.
  void act(const replica::Replica& world, region::RegionPipeline& pipeline, std::uint64_t tick,
           std::uint64_t now_ms);

  // The attack rule saw `player` take `damage` health from `npc` (any thread).
  void record_hit(crdt::EntityId player, crdt::EntityId npc, std::int64_t damage);
  // After a tick: the recorded hits into each instance's contributions.
  void take_hits();

  // The instance ended: if `completed`, its gold (rewards.gold of the definition it started
  // with) is paid to its contributors in proportion to their damage, into their gold counters
  // in this tick's group; then its NPCs are forgotten (their entities stay where they are).
  // Returns the shares paid.
  std::map<crdt::EntityId, std::uint64_t> end(replica::Replica& world,
                                              region::director::InstanceId instance,
                                              bool completed);

  // An instance's NPCs as `world` holds them — any region, from replicated state: NPCs are
  // numbered 0, 1, … so it reads until the first id with no position. npcs_alive are those
  // with health > 0, objective_progress those at ≤ 0 (NPCs defeated).
  static region::director::InstanceReading read(const replica::Replica& world,
                                                region::director::InstanceId instance);

  bool spawns(region::director::InstanceId instance) const { return instances_.count(instance); }
  // The instances whose NPCs this region runs.
  std::vector<region::director::InstanceId> instances() const;
  const region::director::Contributions* contributions(region::director::InstanceId instance) const;
  const NpcStats& stats() const { return stats_; }

 private:
  struct Npc {
    crdt::EntityId id = 0;
    region::director::InstanceId instance = 0;
    region::director::NpcState brain;
    std::uint64_t seq = 0;  // its last action's sequence number
    bool dead = false;
  };
  struct Instance {
    std::uint32_t spawned = 0, elites = 0;
    std::uint64_t gold = 0;
    double damage_mult = 1;
    region::director::Contributions damage;
  };
  struct Hit {
    crdt::EntityId player, npc;
    std::int64_t damage;
  };

  region::director::NpcBehaviour behaviour_;
  std::map<crdt::EntityId, Npc> npcs_;  // by id: actions go to the pipeline in id order
  std::map<region::director::InstanceId, Instance> instances_;
  std::vector<region::Submission> batch_;  // reused every tick
  std::vector<crdt::EntityId> actors_;     // batch_'s actors, by index
  NpcStats stats_;
  std::mutex hits_mutex_;
  std::vector<Hit> hits_;  // GUARDED_BY(hits_mutex_)
};

}  // namespace worldline::app
