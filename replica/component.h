// Components as the replica sees them: a component id names one of a fixed set of CRDT kinds,
// and a ComponentValue holds a value of that kind. The replica moves values as bytes (the CRDT
// codec) and checks on arrival that the bytes decode as the kind configured for the id.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>

#include "crdt/components.h"
#include "crdt/result.h"

namespace worldline::replica {

using crdt::EntityId;
using ComponentId = std::uint16_t;

enum class ComponentKind : std::uint8_t {
  kLwwVec3,         // Position, Velocity
  kPNCounter,       // Health
  kBoundedCounter,  // Gold
  kFirstClaim,      // UniqueItemOwner
  kInventory,       // OrMap<string, CausalCounter>
  kTextSet,         // Buffs
  kIdSet,           // GuildMembers
  kAuthority,       // EntityAuthority
  kMvText,          // DisplayName
  kMaxInt,          // HighScore
  kGCounter,        // Kills
};

const char* to_string(ComponentKind kind);

// One alternative per kind, in the order of ComponentKind.
using ComponentValue =
    std::variant<crdt::Position, crdt::Health, crdt::Gold, crdt::UniqueItemOwner, crdt::Inventory,
                 crdt::Buffs, crdt::GuildMembers, crdt::EntityAuthority, crdt::DisplayName,
                 crdt::HighScore, crdt::Kills>;

inline ComponentKind kind_of(const ComponentValue& v) {
  return static_cast<ComponentKind>(v.index());
}

struct ComponentSpec {
  std::string name;
  ComponentKind kind;
  std::int64_t bound = 0;  // kBoundedCounter only
};

// Which CRDT kind each component id is. Built at start from defaults or configuration and then
// read-only, so every thread may read it.
class ComponentRegistry {
 public:
  // The game components of docs/state-model.md, ids 1..12.
  static ComponentRegistry game_defaults();

  // Fails with kInvalidArgument on a duplicate id or name.
  crdt::Result<bool> add(ComponentId id, ComponentSpec spec);
  const ComponentSpec* find(ComponentId id) const;
  const ComponentSpec* find(std::string_view name, ComponentId* id) const;
  const std::map<ComponentId, ComponentSpec>& all() const { return specs_; }

  // The empty state of component `id`. REQUIRES: find(id) != nullptr.
  ComponentValue bottom(ComponentId id) const;

 private:
  std::map<ComponentId, ComponentSpec> specs_;
};

std::string encode_value(const ComponentValue& v);
// Decodes bytes as the kind configured for `id` and checks it fits the spec (bounded counters
// carry the configured bound). Errors name the component.
crdt::Result<ComponentValue> decode_value(const ComponentRegistry& registry, ComponentId id,
                                          std::string_view bytes);
// REQUIRES: both hold the same kind (and bound).
void join_value(ComponentValue& into, const ComponentValue& from);
std::string value_to_string(const ComponentValue& v);

}  // namespace worldline::replica
