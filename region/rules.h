// PriorityRules: which class each action kind belongs to and how each class is scheduled, from
// TOML, validated when loaded and swappable between ticks. Classes are listed in rank order —
// the first runs first. Example (the defaults):
//
//   aging_per_tick = 0.5          # a waiting action gains half a class of priority per tick
//   [[class]]
//   name = "physics"
//   kinds = ["collide"]
//   budget_per_tick = 100000      # actions of this class processed per cell per tick
//   max_wait_ticks = 1            # waited this long: processed this tick, budget or not
//   [[class]]
//   name = "combat"
//   ...
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "crdt/result.h"
#include "region/action.h"

namespace worldline::region {

struct ClassRule {
  std::string name;
  std::uint32_t budget_per_tick = 0;
  std::uint32_t max_wait_ticks = 0;
};

struct PriorityRules {
  std::vector<ClassRule> classes;            // rank order
  std::array<int, kActionKinds> class_of{};  // kind → index into classes
  double aging_per_tick = 0.5;

  int rank(ActionKind kind) const { return class_of[static_cast<int>(kind)]; }

  static PriorityRules defaults();
  // Every kind must be in exactly one class; names unique; budgets > 0; max_wait ≥ 1.
  static crdt::Result<PriorityRules> parse(const std::string& toml_text,
                                           const std::string& source_name);
  std::string to_toml() const;
};

}  // namespace worldline::region
