#include "region/rules.h"

#include <toml++/toml.h>
#include <set>
#include <sstream>

namespace worldline::region {
namespace {

crdt::Error rules_error(const std::string& source, const std::string& what) {
  return crdt::make_error(crdt::ErrorCode::kInvalidArgument, source + ": " + what);
}

}  // namespace

PriorityRules PriorityRules::defaults() {
  PriorityRules r;
  r.classes = {{"physics", 100'000, 1},
               {"combat", 50'000, 2},
               {"movement", 50'000, 3},
               {"interaction", 20'000, 4},
               {"social", 5'000, 8}};
  r.class_of[static_cast<int>(ActionKind::kCollide)] = 0;
  r.class_of[static_cast<int>(ActionKind::kAttack)] = 1;
  r.class_of[static_cast<int>(ActionKind::kMove)] = 2;
  r.class_of[static_cast<int>(ActionKind::kPickup)] = 3;
  r.class_of[static_cast<int>(ActionKind::kInteract)] = 3;
  r.class_of[static_cast<int>(ActionKind::kChat)] = 4;
  r.class_of[static_cast<int>(ActionKind::kEmote)] = 4;
  return r;
}

crdt::Result<PriorityRules> PriorityRules::parse(const std::string& text,
                                                 const std::string& source) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return rules_error(source, std::string("TOML syntax: ") + std::string(e.description()));
  }
  PriorityRules r;
  r.aging_per_tick = root["aging_per_tick"].value_or(0.5);
  if (!(r.aging_per_tick >= 0 && r.aging_per_tick <= 100)) {
    return rules_error(source, "aging_per_tick must be between 0 and 100");
  }
  const toml::array* classes = root["class"].as_array();
  if (!classes || classes->empty()) return rules_error(source, "no [[class]] tables");
  std::array<bool, kActionKinds> seen{};
  std::set<std::string> names;
  for (const auto& node : *classes) {
    const toml::table* t = node.as_table();
    if (!t) return rules_error(source, "[[class]] entries must be tables");
    ClassRule c;
    c.name = (*t)["name"].value_or(std::string());
    if (c.name.empty()) return rules_error(source, "a [[class]] has no name");
    if (!names.insert(c.name).second) return rules_error(source, "class '" + c.name + "' twice");
    const auto budget = (*t)["budget_per_tick"].value<std::int64_t>();
    const auto wait = (*t)["max_wait_ticks"].value<std::int64_t>();
    if (!budget || *budget <= 0 || *budget > 100'000'000) {
      return rules_error(source, "class '" + c.name + "': budget_per_tick must be 1..100000000");
    }
    if (!wait || *wait < 1 || *wait > 100'000) {
      return rules_error(source, "class '" + c.name + "': max_wait_ticks must be 1..100000");
    }
    c.budget_per_tick = static_cast<std::uint32_t>(*budget);
    c.max_wait_ticks = static_cast<std::uint32_t>(*wait);
    const toml::array* kinds = (*t)["kinds"].as_array();
    if (!kinds || kinds->empty()) return rules_error(source, "class '" + c.name + "' has no kinds");
    for (const auto& k : *kinds) {
      const auto name = k.value<std::string>();
      const auto kind = name ? action_kind_from_string(*name) : std::nullopt;
      if (!kind) {
        return rules_error(
            source, "class '" + c.name + "': unknown action kind '" + name.value_or("?") + "'");
      }
      if (seen[static_cast<int>(*kind)]) {
        return rules_error(source, "action kind '" + *name + "' is in two classes");
      }
      seen[static_cast<int>(*kind)] = true;
      r.class_of[static_cast<int>(*kind)] = static_cast<int>(r.classes.size());
    }
    r.classes.push_back(std::move(c));
  }
  for (int k = 0; k < kActionKinds; ++k) {
    if (!seen[k]) {
      return rules_error(source, std::string("action kind '") +
                                     to_string(static_cast<ActionKind>(k)) + "' has no class");
    }
  }
  return r;
}

std::string PriorityRules::to_toml() const {
  std::ostringstream out;
  out << "aging_per_tick = " << aging_per_tick << "\n";
  for (std::size_t c = 0; c < classes.size(); ++c) {
    out << "\n[[class]]\nname = \"" << classes[c].name << "\"\nkinds = [";
    bool first = true;
    for (int k = 0; k < kActionKinds; ++k) {
      if (class_of[k] != static_cast<int>(c)) continue;
      out << (first ? "" : ", ") << '"' << to_string(static_cast<ActionKind>(k)) << '"';
      first = false;
    }
    out << "]\nbudget_per_tick = " << classes[c].budget_per_tick
        << "\nmax_wait_ticks = " << classes[c].max_wait_ticks << "\n";
  }
  return out.str();
}

}  // namespace worldline::region
