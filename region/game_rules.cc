#include "region/game_rules.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>

namespace worldline::region {
namespace {

using replica::ComponentValue;
using replica::Key;

Outcome ok(const Action& a) {
  return Outcome{a.actor, a.client_seq, true, {}, {}};
}
Outcome refuse(const Action& a, std::string reason) {
  return Outcome{a.actor, a.client_seq, false, std::move(reason), {}};
}
// A refusal with a reason name of its own, for clients to act on without parsing the detail.
Outcome refuse_as(const Action& a, std::string code, std::string detail) {
  return Outcome{a.actor, a.client_seq, false, std::move(detail), std::move(code)};
}

double distance(const crdt::Vec3& a, const crdt::Vec3& b) {
  const double dx = a.x - b.x, dy = a.y - b.y, dz = a.z - b.z;
  return std::sqrt(dx * dx + dy * dy + dz * dz);
}

}  // namespace

std::vector<crdt::EntityId> HandlerContext::nearby(double x, double z, double r) const {
  std::vector<crdt::EntityId> out;
  if (own) out = own->within(x, z, r);
  if (ghosts) {
    auto g = ghosts->within(x, z, r);
    std::vector<crdt::EntityId> merged;
    merged.reserve(out.size() + g.size());
    std::merge(out.begin(), out.end(), g.begin(), g.end(), std::back_inserter(merged));
    out = std::move(merged);
  }
  return out;
}

GameRules::GameRules(GameConfig config) : config_(config) {
  auto accept = [](const Action& a, HandlerContext&) { return ok(a); };
  rules_.fill(Rule{accept, {}});
  set(ActionKind::kMove, [this](const Action& a, HandlerContext& c) { return move(a, c); });
  set(ActionKind::kAttack,
      Rule{[this](const Action& a, HandlerContext& c) { return attack_from(a, c); },
           [this](const Action& a, HandlerContext& c) { return attack_on(a, c); }});
  set(ActionKind::kPickup,
      Rule{[this](const Action& a, HandlerContext& c) { return pickup_from(a, c); },
           [this](const Action& a, HandlerContext& c) { return pickup(a, c); }});
}

namespace {

std::int64_t health_of(const ComponentValue* v) {
  return v ? std::get<crdt::Health>(*v).value() : 0;
}
std::optional<crdt::Vec3> position_of(const ComponentValue* v) {
  if (!v || !std::get<crdt::Position>(*v).has_value()) return std::nullopt;
  return std::get<crdt::Position>(*v).value();
}

}  // namespace

std::int64_t GameRules::health(const replica::Replica& world, ActorId id) {
  return health_of(world.store().get(Key{id, kHealthComponent}));
}
std::int64_t GameRules::health(const CellWorld& world, ActorId id) {
  return health_of(world.get(Key{id, kHealthComponent}));
}
std::optional<crdt::Vec3> GameRules::position(const replica::Replica& world, ActorId id) {
  return position_of(world.store().get(Key{id, kPositionComponent}));
}
std::optional<crdt::Vec3> GameRules::position(const CellWorld& world, ActorId id) {
  return position_of(world.get(Key{id, kPositionComponent}));
}

bool GameRules::is_item(const replica::Replica& world, crdt::EntityId id) {
  return world.store().get(Key{id, kItemKindComponent}) != nullptr;
}
bool GameRules::is_item(const CellWorld& world, crdt::EntityId id) {
  return world.get(Key{id, kItemKindComponent}) != nullptr;
}
std::optional<ActorId> GameRules::item_owner(const replica::Replica& world, crdt::EntityId id) {
  const ComponentValue* v = world.store().get(Key{id, kItemOwnerComponent});
  return v ? std::get<crdt::UniqueItemOwner>(*v).owner() : std::nullopt;
}

void GameRules::spawn(replica::Replica& world, ActorId id, const crdt::Vec3& at,
                      crdt::HlcClock& clock) const {
  (void)world.write(Key{id, kPositionComponent},
                    [&](ComponentValue& v) -> std::optional<ComponentValue> {
                      return std::get<crdt::Position>(v).assign(at, clock.now());
                    });
  (void)world.write(Key{id, kHealthComponent},
                    [&](ComponentValue& v) -> std::optional<ComponentValue> {
                      return std::get<crdt::Health>(v).increment(
                          world.id(), static_cast<std::uint64_t>(config_.spawn_health));
                    });
}

Outcome GameRules::move(const Action& a, HandlerContext& ctx) {
  const auto from = position(ctx.world, a.actor);
  if (!from) return refuse(a, "unknown actor");
  if (health(ctx.world, a.actor) <= 0) return refuse(a, "actor is dead");
  crdt::Vec3 to = a.position;
  const double d = distance(*from, to);
  double granted;
  {
    PaceShard& shard = paces_[a.actor % kPaceShards];
    std::lock_guard<std::mutex> lock(shard.mutex);
    granted = shard.pace[a.actor].move.spend(ctx.tick, d, move_pace());
  }
  if (d > 0 && granted <= 0) {
    Outcome o = refuse_as(a, "too_fast", "movement budget spent: wait for the next tick");
    o.asked = static_cast<float>(d);
    o.limit = Limit::kMoveBudget;
    return o;
  }
  if (granted < d) {  // clamp: the authoritative state corrects the client
    const double f = granted / d;
    to = {from->x + (to.x - from->x) * f, from->y + (to.y - from->y) * f,
          from->z + (to.z - from->z) * f};
  }
  (void)ctx.world.write(Key{a.actor, kPositionComponent},
                        [&](ComponentValue& v) -> std::optional<ComponentValue> {
                          return std::get<crdt::Position>(v).assign(to, ctx.clock.now());
                        });
  Outcome o = ok(a);
  o.asked = static_cast<float>(d);
  o.granted = static_cast<float>(granted);
  if (granted < d) o.limit = Limit::kMoveBudget;
  return o;
}

// The attacker's half, in its cell: alive, in range of where the target stood (a ghost if it is in
// another cell), off cooldown. The cooldown is spent here, so a swing at a target that dies earlier
// in the same tick still costs it.
Outcome GameRules::attack_from(const Action& a, HandlerContext& ctx) {
  if (config_.require_aim && !a.aim) {
    return refuse_as(a, "aim_required", "an attack needs args.aim: require_aim is on");
  }
  const auto me = position(ctx.world, a.actor);
  const auto them = position(ctx.world, a.target);
  if (!me || !them) return refuse(a, "unknown actor or target");
  if (health(ctx.world, a.actor) <= 0) return refuse(a, "actor is dead");
  const double reach = distance(*me, *them);
  if (reach > config_.attack_range) {
    Outcome o = refuse(a, "target out of range");
    o.reach = static_cast<float>(reach);
    o.actor_at = *me;
    o.target_at = *them;
    o.limit = Limit::kRange;
    return o;
  }
  Outcome o = ok(a);
  o.reach = static_cast<float>(reach);
  o.actor_at = *me;
  o.target_at = *them;
  PaceShard& shard = paces_[a.actor % kPaceShards];
  std::lock_guard<std::mutex> lock(shard.mutex);
  std::optional<std::uint64_t>& last = shard.pace[a.actor].last_attack_tick;
  if (last && ctx.tick < *last + config_.attack_cooldown_ticks) {
    o.ok = false;
    o.reason = "attack on cooldown";
    o.limit = Limit::kCooldown;
    return o;
  }
  last = ctx.tick;
  // The aim, after the cooldown: a miss is a swing, and costs it. A target standing where the
  // attacker stands is in every direction.
  if (a.aim && reach > 1e-9) {
    const double cos = ((them->x - me->x) * a.aim->x + (them->y - me->y) * a.aim->y +
                        (them->z - me->z) * a.aim->z) /
                       reach;
    const double off = std::acos(std::clamp(cos, -1.0, 1.0)) * 180 / M_PI;
    o.aim_error_deg = static_cast<float>(off);
    if (off > config_.aim_tolerance_deg) {
      char detail[128];
      std::snprintf(detail, sizeof detail, "aim %.1f deg off the target; aim_tolerance_deg is %.1f",
                    off, config_.aim_tolerance_deg);
      o.ok = false;
      o.reason = detail;
      o.code = "missed";
      o.limit = Limit::kMissed;
    }
  } else if (a.aim) {
    o.aim_error_deg = 0;
  }
  return o;
}

// The target's half, in the target's cell: the target's health as of every earlier hit.
Outcome GameRules::attack_on(const Action& a, HandlerContext& ctx) const {
  if (health(ctx.world, a.target) <= 0) return refuse(a, "target is dead");
  (void)ctx.world.write(
      Key{a.target, kHealthComponent}, [&](ComponentValue& v) -> std::optional<ComponentValue> {
        return std::get<crdt::Health>(v).decrement(
            ctx.world.region(), static_cast<std::uint64_t>(config_.attack_damage));
      });
  return ok(a);
}

// The picker's half, in its cell: the item exists (where it lies as the tick began, a ghost if
// it is in another cell) and lies within pickup_range of where the picker stands now (after its
// moves earlier in the tick). Items are refused by name before the claim, so a client can tell a
// wrong id or a far item from a lost contest.
Outcome GameRules::pickup_from(const Action& a, HandlerContext& ctx) const {
  const auto item = position(ctx.world, a.target);
  if (!item || !is_item(ctx.world, a.target)) {
    return refuse_as(a, "no_such_item", "no item " + std::to_string(a.target) + " in the world");
  }
  const auto me = position(ctx.world, a.actor);
  if (!me) return refuse(a, "unknown actor");
  const double d = distance(*me, *item);
  Outcome o = ok(a);
  o.reach = static_cast<float>(d);
  if (d > config_.pickup_range) {
    char detail[128];
    std::snprintf(detail, sizeof detail, "item %llu is %.1f away; pickup_range is %.1f",
                  static_cast<unsigned long long>(a.target), d, config_.pickup_range);
    o.ok = false;
    o.reason = detail;
    o.code = "out_of_range";
    o.limit = Limit::kRange;
  }
  return o;
}

// The item's half, in the item's cell: first claim wins.
Outcome GameRules::pickup(const Action& a, HandlerContext& ctx) const {
  std::string refused;
  auto r = ctx.world.write(
      Key{a.target, kItemOwnerComponent}, [&](ComponentValue& v) -> std::optional<ComponentValue> {
        auto d = std::get<crdt::UniqueItemOwner>(v).claim(a.actor, ctx.clock.now());
        if (!d) {
          refused = d.error().message;
          return std::nullopt;
        }
        return std::move(d).value();
      });
  if (!r || !r.value()) return refuse(a, refused.empty() ? "pickup failed" : refused);
  return ok(a);
}

}  // namespace worldline::region
