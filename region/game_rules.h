// GameRules: the handler table a studio extends — one handler per action kind, run in the order
// the scheduler gives, reading and writing the world through the replica's typed CRDT store so
// that every change is a delta that is journaled and gossiped. Built-ins (docs/game-rules.md):
//   move     — towards the target, as far as the player's movement budget allows (move_budget.h:
//              max_speed_per_tick per tick of elapsed time, a burst after a stall catching up at
//              most move_catch_up_ticks; position: LWW register); refused as too_fast when the
//              budget is spent;
//   attack   — within range, after the cooldown, on a live target: damage into its health counter;
//              dead at <= 0, and the dead neither attack nor take damage; an attack with aim
//              further than aim_tolerance_deg off the target is `missed` (cooldown spent);
//              with require_aim, one without aim is refused as `aim_required`;
//   pickup   — an item that exists (items.h) within pickup_range of the actor, by
//              first-claim-wins: one owner, the losers get a reject; an unknown item is refused
//              as no_such_item, a far one as out_of_range;
//   interact, chat, emote, collide — accepted (the studio's rules give them meaning).
// A rule that touches a target has two halves: on_actor runs in the actor's cell (checks, writes
// to the actor), on_target in the target's cell (writes to the target). When both stand in one
// cell they run back to back; otherwise the pipeline forwards the action to the target's cell,
// which resolves it after every cell's own actions — the target's owner decides, deterministically.
// Thread safety: shared by the region's worker threads during a tick. Handlers write only through
// their HandlerContext; set() only between ticks. The attack cooldowns are sharded under locks.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>

#include "crdt/hlc.h"
#include "region/action.h"
#include "region/cell_world.h"
#include "region/interest_grid.h"
#include "region/items.h"
#include "region/move_budget.h"
#include "replica/replica.h"

namespace worldline::region {

// Component ids the built-in rules use (replica::ComponentRegistry::game_defaults()).
inline constexpr replica::ComponentId kPositionComponent = 1;
inline constexpr replica::ComponentId kHealthComponent = 3;
inline constexpr replica::ComponentId kItemOwnerComponent = 5;

struct GameConfig {
  double max_speed_per_tick = 10;  // world units a player moves per tick of elapsed time
  // The movement budget (move_budget.h): unspent movement is kept up to this many ticks' worth
  // (a stalled client's burst catches up at most that much), and a move may run this many ticks'
  // worth ahead of it (network jitter).
  std::uint32_t move_catch_up_ticks = 20;
  std::uint32_t move_lead_ticks = 3;
  std::uint32_t move_max_step_ticks = 3;  // no single move goes further than this many ticks' worth
  double attack_range = 5;
  // An attack that says where it aims (Action::aim) hits only if the aim is within this many
  // degrees of the direction to the target (from the attacker to the target's centre, as they
  // stood when the tick began); further off it is a miss (`missed`). Without aim: as before.
  double aim_tolerance_deg = 10;
  // Refuses an attack without aim (`aim_required`, before range and cooldown: nothing spent), so
  // every attack meets the aim test and the anticheat's hit ratio. Moves and the client clock
  // stay optional. Off by default: old clients keep working.
  bool require_aim = false;
  std::uint32_t attack_cooldown_ticks = 2;
  std::int64_t attack_damage = 10;
  std::int64_t spawn_health = 100;
  // A pickup needs the item within this distance of the actor (world units, as attack_range).
  double pickup_range = 5;
  ItemField items;  // the items the region places at its first start (none by default)
};

// Which of the built-in rules' limits an action hit (for the anticheat; the client sees the
// reject's reason and detail).
enum class Limit : std::uint8_t {
  kNone,
  kMoveBudget,  // a move clamped or refused (too_fast) by the movement budget
  kCooldown,    // an attack refused on cooldown
  kRange,       // an attack or pickup refused as out of range
  kMissed,      // an attack with aim further off the target than aim_tolerance_deg (`missed`)
};

struct Outcome {
  Outcome() = default;
  // A studio's handler writes Outcome{a.actor, a.client_seq, ok, "why"}; `code` is optional.
  Outcome(ActorId a, std::uint64_t s, bool accepted, std::string why = {}, std::string name = {})
      : actor(a), seq(s), ok(accepted), reason(std::move(why)), code(std::move(name)) {}

  ActorId actor = 0;
  std::uint64_t seq = 0;
  bool ok = false;
  std::string reason;  // why it was refused (the reject's `detail`, sent to the client)
  // The reject's `reason` name (docs/protocol.md); empty: "refused".
  std::string code;
  // What the built-in rules measured, for the anticheat (region/anticheat/): a move's distance
  // asked for and granted (the rest was clamped by the movement budget); an attack's or a
  // pickup's reach, the distance to its target (−1: not measured). World units.
  float asked = 0, granted = 0, reach = -1;
  // An attack with aim that got as far as the aim test (alive, in range, off cooldown): degrees
  // between the aim and the direction to the target (−1: not measured). And, whenever `reach`
  // is measured for an attack, where the attacker and the target stood (the aim checks need
  // the direction to the target).
  float aim_error_deg = -1;
  crdt::Vec3 actor_at, target_at;
  Limit limit = Limit::kNone;
};

// What a handler sees of the neighbouring cells: the entities standing in other cells within the
// pipeline's ghost margin of its own — read-only ghosts.
class GhostView {
 public:
  // Those within r of (x, z), sorted by id.
  virtual std::vector<crdt::EntityId> within(double x, double z, double r) const = 0;

 protected:
  ~GhostView() = default;
};

struct HandlerContext {
  CellWorld& world;       // reads and writes of the cell the handler runs in
  crdt::HlcClock& clock;  // the cell's clock: stamps for LWW and first-claim writes
  std::uint64_t tick;
  // Who stands where as of the tick's start (RegionPipeline sets them): the cell's own interest
  // grid, and its neighbours' entities within the ghost margin of it.
  const InterestGrid* own = nullptr;
  const GhostView* ghosts = nullptr;

  // Entities within r of (x, z), sorted by id: complete for r up to the pipeline's ghost margin.
  std::vector<crdt::EntityId> nearby(double x, double z, double r) const;
};

class GameRules {
 public:
  using Handler = std::function<Outcome(const Action&, HandlerContext&)>;
  struct Rule {
    Handler on_actor;   // in the actor's cell; refusing here ends the action
    Handler on_target;  // in the target's cell, once on_actor accepted; empty: nothing to do there
  };

  explicit GameRules(GameConfig config);

  // Replaces the rule of one kind (a studio's own rule). A single handler runs in the actor's cell.
  void set(ActionKind kind, Handler handler) {
    rules_[static_cast<int>(kind)] = {std::move(handler), {}};
  }
  void set(ActionKind kind, Rule rule) { rules_[static_cast<int>(kind)] = std::move(rule); }
  const Rule& rule(ActionKind kind) const { return rules_[static_cast<int>(kind)]; }
  // Both halves in one context (actor and target in the same cell).
  Outcome apply(const Action& action, HandlerContext& ctx) const {
    const Rule& r = rule(action.kind);
    Outcome o = r.on_actor(action, ctx);
    if (o.ok && r.on_target) o = r.on_target(action, ctx);
    return o;
  }

  // Creates a player: its position and spawn health, as deltas like any other write.
  void spawn(replica::Replica& world, ActorId id, const crdt::Vec3& at,
             crdt::HlcClock& clock) const;

  const GameConfig& config() const { return config_; }
  MovePace move_pace() const {
    return {config_.max_speed_per_tick, config_.move_catch_up_ticks, config_.move_lead_ticks,
            config_.move_max_step_ticks};
  }

  static std::int64_t health(const replica::Replica& world, ActorId id);
  static std::int64_t health(const CellWorld& world, ActorId id);
  static std::optional<crdt::Vec3> position(const replica::Replica& world, ActorId id);
  static std::optional<crdt::Vec3> position(const CellWorld& world, ActorId id);
  // Whether the entity is an item (it has an item kind, items.h), and who owns it if claimed.
  static bool is_item(const replica::Replica& world, crdt::EntityId id);
  static bool is_item(const CellWorld& world, crdt::EntityId id);
  static std::optional<ActorId> item_owner(const replica::Replica& world, crdt::EntityId id);

 private:
  Outcome move(const Action& a, HandlerContext& ctx);
  Outcome attack_from(const Action& a, HandlerContext& ctx);
  Outcome attack_on(const Action& a, HandlerContext& ctx) const;
  Outcome pickup_from(const Action& a, HandlerContext& ctx) const;
  Outcome pickup(const Action& a, HandlerContext& ctx) const;

  GameConfig config_;
  std::array<Rule, kActionKinds> rules_;
  // Each actor's pace: its last attack tick and its movement budget. An actor acts in one cell
  // per tick, but two workers may touch the map at once, so it is split into shards, each under
  // its own lock. Kept in memory only: a restarted region starts every budget afresh (one tick's
  // worth, so reconnecting buys no movement).
  struct Pace {
    std::optional<std::uint64_t> last_attack_tick;
    MoveBudget move;
  };
  struct PaceShard {
    std::mutex mutex;
    boost::unordered_flat_map<ActorId, Pace> pace;  // GUARDED_BY(mutex)
  };
  static constexpr std::size_t kPaceShards = 64;
  std::array<PaceShard, kPaceShards> paces_;
};

}  // namespace worldline::region
