#include "region/action.h"

#include <array>
#include <cmath>

namespace worldline::region {
namespace {

constexpr std::array<const char*, kActionKinds> kNames = {"collide",  "attack", "move", "pickup",
                                                          "interact", "chat",   "emote"};

}  // namespace

const char* to_string(ActionKind kind) {
  const auto i = static_cast<std::size_t>(kind);
  return i < kNames.size() ? kNames[i] : "unknown";
}

std::optional<ActionKind> action_kind_from_string(const std::string& name) {
  for (std::size_t i = 0; i < kNames.size(); ++i) {
    if (name == kNames[i]) return static_cast<ActionKind>(i);
  }
  return std::nullopt;
}

std::optional<crdt::Vec3> unit_aim(const crdt::Vec3& v) {
  if (!std::isfinite(v.x) || !std::isfinite(v.y) || !std::isfinite(v.z)) return std::nullopt;
  // hypot: no overflow for components near the largest double.
  const double length = std::hypot(v.x, v.y, v.z);
  if (!(length > kMinAimLength) || !std::isfinite(length)) return std::nullopt;
  if (std::abs(length - 1) <= 1e-9) return v;
  return crdt::Vec3{v.x / length, v.y / length, v.z / length};
}

}  // namespace worldline::region
