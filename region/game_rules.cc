#include "region/game_rules.h"

#include <cmath>

namespace worldline::region {
namespace {

using replica::ComponentValue;
using replica::Key;

Outcome ok(const Action& a) {
  return Outcome{a.actor, a.client_seq, true, {}};
}
Outcome refuse(const Action& a, std::string reason) {
  return Outcome{a.actor, a.client_seq, false, std::move(reason)};
}

double distance(const crdt::Vec3& a, const crdt::Vec3& b) {
  const double dx = a.x - b.x, dy = a.y - b.y, dz = a.z - b.z;
  return std::sqrt(dx * dx + dy * dy + dz * dz);
}

}  // namespace

GameRules::GameRules(GameConfig config) : config_(config) {
  auto accept = [](const Action& a, HandlerContext&) { return ok(a); };
  handlers_.fill(accept);
  set(ActionKind::kMove, [this](const Action& a, HandlerContext& c) { return move(a, c); });
  set(ActionKind::kAttack, [this](const Action& a, HandlerContext& c) { return attack(a, c); });
  set(ActionKind::kPickup, [this](const Action& a, HandlerContext& c) { return pickup(a, c); });
}

std::int64_t GameRules::health(const replica::Replica& world, ActorId id) {
  const ComponentValue* v = world.store().get(Key{id, kHealthComponent});
  return v ? std::get<crdt::Health>(*v).value() : 0;
}

std::optional<crdt::Vec3> GameRules::position(const replica::Replica& world, ActorId id) {
  const ComponentValue* v = world.store().get(Key{id, kPositionComponent});
  if (!v || !std::get<crdt::Position>(*v).has_value()) return std::nullopt;
  return std::get<crdt::Position>(*v).value();
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
  if (d > config_.max_speed_per_tick) {  // clamp: the authoritative state corrects the client
    const double f = config_.max_speed_per_tick / d;
    to = {from->x + (to.x - from->x) * f, from->y + (to.y - from->y) * f,
          from->z + (to.z - from->z) * f};
  }
  (void)ctx.world.write(Key{a.actor, kPositionComponent},
                        [&](ComponentValue& v) -> std::optional<ComponentValue> {
                          return std::get<crdt::Position>(v).assign(to, ctx.clock.now());
                        });
  return ok(a);
}

Outcome GameRules::attack(const Action& a, HandlerContext& ctx) {
  const auto me = position(ctx.world, a.actor);
  const auto them = position(ctx.world, a.target);
  if (!me || !them) return refuse(a, "unknown actor or target");
  if (health(ctx.world, a.actor) <= 0) return refuse(a, "actor is dead");
  if (health(ctx.world, a.target) <= 0) return refuse(a, "target is dead");
  if (distance(*me, *them) > config_.attack_range) return refuse(a, "target out of range");
  auto last = last_attack_tick_.find(a.actor);
  if (last != last_attack_tick_.end() && ctx.tick < last->second + config_.attack_cooldown_ticks) {
    return refuse(a, "attack on cooldown");
  }
  last_attack_tick_[a.actor] = ctx.tick;
  (void)ctx.world.write(Key{a.target, kHealthComponent},
                        [&](ComponentValue& v) -> std::optional<ComponentValue> {
                          return std::get<crdt::Health>(v).decrement(
                              ctx.world.id(), static_cast<std::uint64_t>(config_.attack_damage));
                        });
  return ok(a);
}

Outcome GameRules::pickup(const Action& a, HandlerContext& ctx) {
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
