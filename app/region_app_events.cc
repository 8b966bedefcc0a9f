// RegionApp's world-event half (the rest is in region_app.cc): the director after every tick,
// acting ahead of the forecast load, the spawn claims that make exactly one region spawn an
// instance (region/director/spawn_claims.h), and the NPCs' hits wired into the attack rule.
// Thread safety: the node's loop thread, except the attack rule's wrapper (on the workers).
#include <algorithm>
#include <cmath>

#include <spdlog/spdlog.h>

#include "app/region_app.h"

namespace worldline::app {
namespace {

// An NPC's hit, in the target's cell: the built-in attack's target half with the NPC's damage.
region::Outcome npc_hit(const region::Action& a, region::HandlerContext& ctx, std::int64_t damage) {
  if (region::GameRules::health(ctx.world, a.target) <= 0) {
    return region::Outcome{a.actor, a.client_seq, false, "target is dead"};
  }
  if (damage > 0) {
    (void)ctx.world.write(
        replica::Key{a.target, region::kHealthComponent},
        [&](replica::ComponentValue& v) -> std::optional<replica::ComponentValue> {
          return std::get<crdt::Health>(v).decrement(ctx.world.region(),
                                                     static_cast<std::uint64_t>(damage));
        });
  }
  return region::Outcome{a.actor, a.client_seq, true};
}

}  // namespace

// The forecast acting before the crowd: once per director step, each square whose forecast
// exceeds its present by the margin is expected to carry that load for the forecast's horizon,
// so the partitioner splits it and spreads it over the workers now, and holds the split until
// the expectation expires (region/partitioner.h) — instead of splitting once the crowd is there.
void RegionApp::act_ahead() {
  const std::uint64_t samples = director_->stats().samples;
  if (!options_.proactive || samples == samples_acted_on_) return;
  samples_acted_on_ = samples;
  const double tick_s = options_.pipeline.tick_period_ms / 1000;
  const auto horizon_ticks = static_cast<std::uint64_t>(
      std::ceil(options_.proactive_options.horizon_s / std::max(tick_s, 1e-3)));
  for (const region::director::ExpectedLoad& e :
       director_->expected_loads(options_.proactive_options, tick_s)) {
    if (pipeline_->expect_load(e.area, e.load, tick_ + horizon_ticks) !=
        region::ExpectOutcome::kIgnored) {
      ++expectations_made_;
      spdlog::debug(
          "region {}: expecting {} (entities {:.0f} now, {:.0f} in {:.0f} s) over "
          "[{:.0f}, {:.0f}]–[{:.0f}, {:.0f}]",
          options_.host.region_name, e.load, e.entities_now, e.entities_coming,
          options_.proactive_options.horizon_s, e.area.min_x, e.area.min_z, e.area.max_x,
          e.area.max_z);
    }
  }
}

// Wraps the target half of whatever attack rule is set (a studio's own included): a hit that
// took health from an NPC is credited to its attacker, by the health it took; an NPC's own hit
// takes the rules' attack_damage × its instance's damage lever. Runs on the workers:
// EventNpcs::record_hit locks, damage_of only reads (nothing changes EventNpcs during a tick).
void RegionApp::record_npc_hits() {
  const region::GameRules::Rule attack = rules_.rule(region::ActionKind::kAttack);
  if (!attack.on_target) return;
  EventNpcs* npcs = npcs_.get();
  const std::int64_t base = options_.game.attack_damage;
  auto on_target = [npcs, base, inner = attack.on_target](const region::Action& a,
                                                          region::HandlerContext& ctx) {
    if (region::director::is_npc(a.actor)) return npc_hit(a, ctx, npcs->damage_of(a.actor, base));
    if (!region::director::is_npc(a.target)) return inner(a, ctx);
    const std::int64_t before = region::GameRules::health(ctx.world, a.target);
    region::Outcome o = inner(a, ctx);
    // Credited with the health it took, not its damage: a killing blow of 30 on 10 health left
    // counts 10, so the shares of the gold follow what each player really did.
    const std::int64_t after =
        std::max<std::int64_t>(0, region::GameRules::health(ctx.world, a.target));
    if (o.ok && after < before) npcs->record_hit(a.actor, a.target, before - after);
    return o;
  };
  rules_.set(region::ActionKind::kAttack, region::GameRules::Rule{attack.on_actor, on_target});
}

// Claims the instance for this region, unless this region has seen another's claim already: the
// claim and this region's "seen" go into this tick's delta group together, journaled and
// gossiped like any write. Who spawns is decided once the claims settle (spawn_settled).
void RegionApp::claim_spawn(replica::Replica& world, region::director::InstanceId instance) {
  namespace director = region::director;
  const replica::Key key{instance, director::kEventClaimsComponent};
  const director::Membership members = membership(world);
  std::optional<director::SpawnClaim> before;
  const auto written =
      world.write(key, [&](replica::ComponentValue& v) -> std::optional<replica::ComponentValue> {
        auto& set = replica::value_as<crdt::Buffs>(v);
        const director::SpawnClaims held = director::SpawnClaims::read(set);
        if (held.seen_by(world.id())) {
          before = held.winner(members);
          // Said under another membership (the peers changed since): say it under this one.
          if (set.contains(director::seen_element(world.id(), members.hash))) return std::nullopt;
          return director::see(set, world.id(), members);
        }
        return director::claim(set, world.id(), clock_->now(), members);
      });
  if (!written.ok()) {
    // Refused while repairing: the instance runs without NPCs from this region's claim; another
    // region's claim (if any) still settles, and this region adds its "seen" once it can.
    spdlog::warn("region {}: world event instance {:016x}: claim not written ({})",
                 options_.host.region_name, instance, written.error().to_string());
    return;
  }
  if (before) {
    spdlog::info(
        "region {}: world event instance {:016x}: not claimed, region {} claimed it first (as "
        "far as this region has seen)",
        options_.host.region_name, instance, before->region);
  }
  seen_claims_.insert(instance);
}

void RegionApp::see_claims(replica::Replica& world) {
  namespace director = region::director;
  const std::set<crdt::EntityId>* instances =
      world.store().entities_with(director::kEventClaimsComponent);
  if (!instances || instances->size() == seen_claims_.size()) return;
  const director::Membership members = membership(world);
  for (const crdt::EntityId id : *instances) {
    if (seen_claims_.count(id)) continue;
    const auto written =
        world.write(replica::Key{id, director::kEventClaimsComponent},
                    [&](replica::ComponentValue& v) -> std::optional<replica::ComponentValue> {
                      auto& set = replica::value_as<crdt::Buffs>(v);
                      if (set.contains(director::seen_element(world.id(), members.hash)))
                        return std::nullopt;
                      return director::see(set, world.id(), members);
                    });
    if (written.ok()) seen_claims_.insert(id);  // refused while repairing: the next step retries
  }
}

void RegionApp::mark_ended(replica::Replica& world, region::director::InstanceId instance) {
  const auto written =
      world.write(replica::Key{instance, region::director::kEventClaimsComponent},
                  [&](replica::ComponentValue& v) -> std::optional<replica::ComponentValue> {
                    auto& set = replica::value_as<crdt::Buffs>(v);
                    if (set.contains(region::director::ended_element(world.id())))
                      return std::nullopt;
                    return region::director::end(set, world.id());
                  });
  if (!written.ok()) {
    spdlog::warn("region {}: world event instance {:016x}: its end not recorded ({})",
                 options_.host.region_name, instance, written.error().to_string());
  }
}

region::director::SpawnClaims RegionApp::event_claims(const replica::Replica& world,
                                                      region::director::InstanceId instance) {
  const replica::ComponentValue* v =
      world.store().get(replica::Key{instance, region::director::kEventClaimsComponent});
  return v ? region::director::SpawnClaims::read(replica::value_as<crdt::Buffs>(*v))
           : region::director::SpawnClaims{};
}

region::director::Membership RegionApp::membership(const replica::Replica& world) {
  std::vector<std::uint64_t> all(world.peers().begin(), world.peers().end());
  all.push_back(world.id());
  return region::director::Membership(std::move(all));
}

std::optional<std::uint64_t> RegionApp::event_spawner(const replica::Replica& world,
                                                      region::director::InstanceId instance) {
  const auto w = event_claims(world, instance).settled_winner(membership(world));
  return w ? std::optional<std::uint64_t>(w->region) : std::nullopt;
}

void RegionApp::spawn_settled(replica::Replica& world) {
  const region::director::Membership members = membership(world);
  for (auto it = awaiting_settlement_.begin(); it != awaiting_settlement_.end();) {
    const auto [instance, count] = *it;
    const region::director::SpawnClaims claims = event_claims(world, instance);
    const auto w = claims.settled_winner(members);
    if (!w) {
      ++it;
      continue;
    }
    it = awaiting_settlement_.erase(it);
    const region::director::EventInstance* i = director_->registry().find(instance);
    if (w->region != world.id()) {
      spdlog::info("region {}: world event instance {:016x}: settled, region {} spawns it",
                   options_.host.region_name, instance, w->region);
    } else if (claims.ended()) {
      // The id came back (a density trigger firing again in its bucket, a restart): its NPCs'
      // ids are the earlier run's, some dead, and its gold was paid. Not spawned again.
      spdlog::warn(
          "region {}: world event instance {:016x}: settled here, but an instance with this id "
          "already ran and ended; no NPCs spawned for it",
          options_.host.region_name, instance);
    } else if (i) {
      const std::uint32_t n = npcs_->spawn(world, *clock_, *i, count);
      spdlog::info("region {}: world event '{}': settled here, {} NPCs spawned (instance {:016x})",
                   options_.host.region_name, i->definition().id, n, instance);
    }
  }
}

// The director's tap: this tick's leaves, their entities (players, offline ones included, and
// items: the partitioner's load) and what they processed. An event's participants are the
// players online here standing in its area, counted exactly from their positions — once per
// director step (a second), at the first call of that step.
//
// Its clock is the wall clock (the HLC's physical time), so that regions agree on when a schedule
// is due and on the instance ids derived from it; held from going back (an NTP step) because the
// director's times never decrease.
void RegionApp::direct(replica::Replica& world) {
  const std::uint64_t wall = wall_.now_ms();
  if (wall + 1000 < director_ms_ && !director_clock_held_) {
    spdlog::warn(
        "region {}: the wall clock went back {} ms: world events wait until it passes "
        "where it was (schedules and durations run on it)",
        options_.host.region_name, director_ms_ - wall);
  }
  director_clock_held_ = wall + 1000 < director_ms_;
  director_ms_ = std::max(director_ms_, wall);
  pipeline_->cell_loads(cell_loads_);
  cell_counts_.clear();
  for (const region::CellLoad& c : cell_loads_) {
    cell_counts_.push_back(region::director::CellCount{
        c.cell, pipeline_->partition().bounds(c.cell), static_cast<std::uint32_t>(c.entities),
        static_cast<std::uint32_t>(c.processed_last_tick)});
  }
  std::optional<std::vector<std::pair<double, double>>> online;  // (x, z) of players online here
  auto players_within = [&](const region::director::Circle& c) {
    if (!online) {
      online.emplace();
      for (const std::uint64_t player : host_->online_players()) {
        if (const auto p = region::GameRules::position(world, player)) {
          online->emplace_back(p->x, p->z);
        }
      }
    }
    double players = 0;
    for (const auto& [x, z] : *online)
      players += (x - c.x) * (x - c.x) + (z - c.z) * (z - c.z) <= c.radius * c.radius ? 1 : 0;
    return players;
  };
  // Every region reads an instance's NPCs from replicated state (their ids are derived from the
  // instance's), so a region that does not spawn it still sees them die.
  auto read_instance = [&](region::director::InstanceId id) { return EventNpcs::read(world, id); };
  const auto events = director_->after_tick(static_cast<std::int64_t>(director_ms_), cell_counts_,
                                            players_within, read_instance);
  see_claims(world);
  // A settled winner never changes (region/director/spawn_claims.h): a region running NPCs of an
  // instance it did not win is a bug, and stops running them.
  for (const region::director::InstanceId id : npcs_->instances()) {
    if (event_spawner(world, id) != std::optional<std::uint64_t>(world.id())) {
      spdlog::error(
          "region {}: world event instance {:016x}: spawned here but the settled claims name "
          "{} (a bug: settled claims never change); its NPCs are left alone",
          options_.host.region_name, id, event_spawner(world, id).value_or(0));
      (void)npcs_->end(world, id, /*completed=*/false);
    }
  }
  using Kind = region::director::DirectorEventKind;
  for (const region::director::DirectorEvent& e : events) {
    if (e.kind == Kind::kArmed) continue;
    spdlog::info("region {}: world event '{}' {} (instance {:016x}, tier {}, {} NPCs asked for)",
                 options_.host.region_name, e.event_id, to_string(e.kind), e.instance, e.tier,
                 e.spawn_more);
    switch (e.kind) {
      case Kind::kStarted:
        claim_spawn(world, e.instance);
        awaiting_settlement_[e.instance] += e.spawn_more;
        break;
      case Kind::kRescaled:
        if (const region::director::EventInstance* i = director_->registry().find(e.instance)) {
          npcs_->rescaled(*i);
          // Spawned here: more now. Not settled yet: more once it is (if here).
          if (npcs_->spawns(e.instance) && e.spawn_more > 0) {
            const std::uint32_t n = npcs_->spawn(world, *clock_, *i, e.spawn_more);
            spdlog::info("region {}: world event '{}': {} NPCs spawned (instance {:016x})",
                         options_.host.region_name, e.event_id, n, e.instance);
          } else if (const auto w = awaiting_settlement_.find(e.instance);
                     w != awaiting_settlement_.end()) {
            w->second += e.spawn_more;
          }
        }
        break;
      case Kind::kCompleted:
      case Kind::kFailed: {
        awaiting_settlement_.erase(e.instance);  // ended before its claims settled: no NPCs
        if (npcs_->spawns(e.instance)) {
          ++events_spawned_;
          mark_ended(world, e.instance);
        }
        const auto paid = npcs_->end(world, e.instance, e.kind == Kind::kCompleted);
        for (const auto& [player, gold] : paid) {
          spdlog::info("region {}: world event '{}': player {} earns {} gold",
                       options_.host.region_name, e.event_id, player, gold);
        }
        break;
      }
      case Kind::kArmed:
        break;
    }
  }
  spawn_settled(world);
}

}  // namespace worldline::app
