#include "region/action.h"

#include <array>

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

}  // namespace worldline::region
