#include "region/ingress.h"

#include <cmath>

namespace worldline::region {

const char* to_string(RejectReason r) {
  switch (r) {
    case RejectReason::kUnknownKind:
      return "unknown_kind";
    case RejectReason::kNonFiniteCoordinate:
      return "non_finite_coordinate";
    case RejectReason::kOutOfWorld:
      return "out_of_world";
    case RejectReason::kBadTarget:
      return "bad_target";
    case RejectReason::kTextTooLong:
      return "text_too_long";
    case RejectReason::kBadSequence:
      return "bad_sequence";
    case RejectReason::kDuplicate:
      return "duplicate";
    case RejectReason::kClockSkew:
      return "clock_skew";
  }
  return "unknown";
}

bool WorldBounds::contains(const crdt::Vec3& p) const {
  return p.x >= min.x && p.x <= max.x && p.y >= min.y && p.y <= max.y && p.z >= min.z &&
         p.z <= max.z;
}

std::optional<Reject> Ingress::check(int raw_kind, const Action& a, std::uint64_t now_ms) const {
  if (raw_kind < 0 || raw_kind >= kActionKinds) {
    return Reject{RejectReason::kUnknownKind, "action kind " + std::to_string(raw_kind)};
  }
  if (a.client_seq == 0) return Reject{RejectReason::kBadSequence, "client seq must start at 1"};
  const std::uint64_t skew =
      a.client_time_ms > now_ms ? a.client_time_ms - now_ms : now_ms - a.client_time_ms;
  if (a.client_time_ms != 0 && skew > limits_.max_client_clock_skew_ms) {
    return Reject{RejectReason::kClockSkew,
                  "client clock " + std::to_string(skew) + " ms away from the region's"};
  }
  // The parsers already refuse a bad aim (bad_field); an action built another way is checked
  // here too: the rules divide by nothing, but trust it is a unit vector.
  if (a.aim) {
    const auto unit = unit_aim(*a.aim);
    if (!unit || std::abs(std::hypot(a.aim->x, a.aim->y, a.aim->z) - 1) > 1e-6) {
      return Reject{RejectReason::kNonFiniteCoordinate, "aim is not a finite unit direction"};
    }
  }
  switch (a.kind) {
    case ActionKind::kMove: {
      const crdt::Vec3& p = a.position;
      if (!std::isfinite(p.x) || !std::isfinite(p.y) || !std::isfinite(p.z)) {
        return Reject{RejectReason::kNonFiniteCoordinate, "move target is not finite"};
      }
      if (!limits_.world.contains(p)) {
        return Reject{RejectReason::kOutOfWorld,
                      "move target " + crdt::to_string(p) + " is outside the world"};
      }
      break;
    }
    case ActionKind::kAttack:
    case ActionKind::kPickup:
    case ActionKind::kInteract:
    case ActionKind::kCollide:
      if (a.target == 0) return Reject{RejectReason::kBadTarget, "no target"};
      if (a.target == a.actor && a.kind != ActionKind::kInteract) {
        return Reject{RejectReason::kBadTarget, "an actor cannot target itself"};
      }
      break;
    case ActionKind::kChat:
    case ActionKind::kEmote:
      if (a.text.size() > limits_.max_text_bytes) {
        return Reject{RejectReason::kTextTooLong, std::to_string(a.text.size()) + " bytes > " +
                                                      std::to_string(limits_.max_text_bytes)};
      }
      break;
  }
  return std::nullopt;
}

std::optional<Reject> Ingress::admit(int raw_kind, Action& action, std::uint64_t now_ms) {
  if (raw_kind >= 0 && raw_kind < kActionKinds) action.kind = static_cast<ActionKind>(raw_kind);
  if (auto reject = check(raw_kind, action, now_ms)) {
    ++rejected_[static_cast<int>(reject->reason)];
    return reject;
  }
  action.stamp = clock_.now();
  ++admitted_;
  return std::nullopt;
}

}  // namespace worldline::region
