// GameRules: the handler table a studio extends — one handler per action kind, run in the order
// the scheduler gives, reading and writing the world through the replica's typed CRDT store so
// that every change is a delta that is journaled and gossiped. Built-ins (docs/game-rules.md):
//   move     — towards the target, at most max_speed_per_tick per tick (position: LWW register);
//   attack   — within range, after the cooldown, on a live target: damage into its health counter;
//              dead at <= 0, and the dead neither attack nor take damage;
//   pickup   — a unique item by first-claim-wins: one owner, the losers get a reject;
//   interact, chat, emote, collide — accepted (the studio's rules give them meaning).
// Thread safety: one GameRules per worker; handlers own no state beyond their worker's.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>

#include "crdt/hlc.h"
#include "region/action.h"
#include "replica/replica.h"

namespace worldline::region {

// Component ids the built-in rules use (replica::ComponentRegistry::game_defaults()).
inline constexpr replica::ComponentId kPositionComponent = 1;
inline constexpr replica::ComponentId kHealthComponent = 3;
inline constexpr replica::ComponentId kItemOwnerComponent = 5;

struct GameConfig {
  double max_speed_per_tick = 10;  // world units
  double attack_range = 5;
  std::uint32_t attack_cooldown_ticks = 2;
  std::int64_t attack_damage = 10;
  std::int64_t spawn_health = 100;
};

struct Outcome {
  ActorId actor = 0;
  std::uint64_t seq = 0;
  bool ok = false;
  std::string reason;  // why it was refused (sent to the client with the authoritative state)
};

struct HandlerContext {
  replica::Replica& world;
  crdt::HlcClock& clock;
  std::uint64_t tick;
};

class GameRules {
 public:
  using Handler = std::function<Outcome(const Action&, HandlerContext&)>;

  explicit GameRules(GameConfig config);

  // Replaces the handler of one kind (a studio's own rule).
  void set(ActionKind kind, Handler handler) {
    handlers_[static_cast<int>(kind)] = std::move(handler);
  }
  Outcome apply(const Action& action, HandlerContext& ctx) {
    return handlers_[static_cast<int>(action.kind)](action, ctx);
  }

  // Creates a player: its position and spawn health, as deltas like any other write.
  void spawn(replica::Replica& world, ActorId id, const crdt::Vec3& at,
             crdt::HlcClock& clock) const;

  const GameConfig& config() const { return config_; }

  static std::int64_t health(const replica::Replica& world, ActorId id);
  static std::optional<crdt::Vec3> position(const replica::Replica& world, ActorId id);

 private:
  Outcome move(const Action& a, HandlerContext& ctx);
  Outcome attack(const Action& a, HandlerContext& ctx);
  Outcome pickup(const Action& a, HandlerContext& ctx);

  GameConfig config_;
  std::array<Handler, kActionKinds> handlers_;
  std::unordered_map<ActorId, std::uint64_t> last_attack_tick_;
};

}  // namespace worldline::region
