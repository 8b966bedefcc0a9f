// Action: one player input as the region pipeline sees it, from ingress to the handlers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "crdt/components.h"
#include "crdt/hlc.h"

namespace worldline::region {

using ActorId = crdt::EntityId;

// The built-in kinds (docs/game-rules.md explains how a studio adds one).
enum class ActionKind : std::uint8_t {
  kCollide,   // physics: a collision resolved by the server
  kAttack,    // combat
  kMove,      // movement
  kPickup,    // interaction
  kInteract,  // interaction
  kChat,      // social
  kEmote,     // cosmetic
};
constexpr int kActionKinds = 7;

const char* to_string(ActionKind kind);

// An aim direction as the protocol takes it: finite, of length > kMinAimLength, scaled to
// length 1 (one already within 1e-9 of length 1 is kept as it is, so a parsed aim re-encodes and
// parses to the same bits). nullopt: not a direction (NaN, infinity, zero).
inline constexpr double kMinAimLength = 1e-6;
std::optional<crdt::Vec3> unit_aim(const crdt::Vec3& v);
std::optional<ActionKind> action_kind_from_string(const std::string& name);

// "Process me after that actor's action `seq`": the state this action read was produced by it.
struct Dependency {
  ActorId actor = 0;
  std::uint64_t seq = 0;
};

struct Action {
  ActorId actor = 0;
  ActionKind kind = ActionKind::kMove;
  std::uint64_t client_seq = 0;      // strictly increasing per actor, from the client
  std::uint64_t client_time_ms = 0;  // the client's clock, kept for anticheat and latency
  crdt::Hlc stamp;                   // given at ingress
  std::optional<Dependency> after;
  crdt::Vec3 position;        // kMove: where to
  crdt::EntityId target = 0;  // kAttack, kPickup, kInteract, kCollide: on what
  std::string text;           // kChat, kEmote
  // kAttack, kMove (optional): where the player aims, a unit vector in world axes (the parsers
  // normalise it; unit_aim). An attack with aim hits only within aim_tolerance_deg of the
  // target (docs/game-rules.md); a move's aim is where the player looks (the anticheat's aim
  // checks read the turn from one to the next). Absent: not said.
  std::optional<crdt::Vec3> aim;
  std::uint64_t enqueued_tick = 0;  // set by the scheduler
  // The newest state frame (its tick) the client had read on this connection when it sent this
  // (protocol `seen`; 0: not said). The region host confirms notices by it.
  std::uint64_t seen_tick = 0;
};

}  // namespace worldline::region
