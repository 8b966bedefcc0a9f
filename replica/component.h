// Components as the replica sees them: a component id names one of a fixed set of CRDT kinds,
// and a ComponentValue holds a value of that kind. The replica moves values as bytes (the CRDT
// codec) and checks on arrival that the bytes decode as the kind configured for the id.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
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

// Boxed<T>: a CRDT kept behind a pointer inside a ComponentValue. A variant is as large as its
// largest alternative: inline, the sets, the inventory map, the multi-value register and the
// bounded counter (144–208 bytes) made every stored position and health pay for them — a store
// slot was 232 bytes. Boxed, the largest inline alternative is the PNCounter and a slot is 136.
// Value semantics: a copy is deep, == compares the values. A moved-from Boxed holds nothing and may
// only be assigned to or destroyed (as with any moved-from alternative).
template <class T>
class Boxed {
 public:
  Boxed() : value_(std::make_unique<T>()) {}
  Boxed(T value) : value_(std::make_unique<T>(std::move(value))) {}  // implicit, as T is
  Boxed(const Boxed& other) : value_(other.value_ ? std::make_unique<T>(*other.value_) : nullptr) {}
  Boxed(Boxed&&) noexcept = default;
  Boxed& operator=(const Boxed& other) {
    if (this != &other) value_ = other.value_ ? std::make_unique<T>(*other.value_) : nullptr;
    return *this;
  }
  Boxed& operator=(Boxed&&) noexcept = default;
  ~Boxed() = default;

  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }
  T* operator->() { return value_.get(); }
  const T* operator->() const { return value_.get(); }
  friend bool operator==(const Boxed& a, const Boxed& b) { return *a.value_ == *b.value_; }

 private:
  std::unique_ptr<T> value_;
};

// One alternative per kind, in the order of ComponentKind; the large ones boxed.
using ComponentValue =
    std::variant<crdt::Position, crdt::Health, Boxed<crdt::Gold>, crdt::UniqueItemOwner,
                 Boxed<crdt::Inventory>, Boxed<crdt::Buffs>, Boxed<crdt::GuildMembers>,
                 crdt::EntityAuthority, Boxed<crdt::DisplayName>, crdt::HighScore, crdt::Kills>;

// The CRDT an alternative holds, boxed or not: for the generic code that visits a ComponentValue.
template <class T>
T& unbox(T& v) {
  return v;
}
template <class T>
const T& unbox(const T& v) {
  return v;
}
template <class T>
T& unbox(Boxed<T>& v) {
  return *v;
}
template <class T>
const T& unbox(const Boxed<T>& v) {
  return *v;
}
template <class T>
struct Unboxed {
  using type = T;
};
template <class T>
struct Unboxed<Boxed<T>> {
  using type = T;
};

namespace component_detail {
template <class T, class V>
struct Inline;
template <class T, class... A>
struct Inline<T, std::variant<A...>> : std::bool_constant<(std::is_same_v<T, A> || ...)> {};
}  // namespace component_detail

// The CRDT of type T that `v` holds, inline or boxed: std::get and std::get_if for components.
// value_as throws std::bad_variant_access if `v` holds another kind; value_if returns nullptr.
template <class T>
T& value_as(ComponentValue& v) {
  if constexpr (component_detail::Inline<T, ComponentValue>::value) {
    return std::get<T>(v);
  } else {
    return *std::get<Boxed<T>>(v);
  }
}
template <class T>
const T& value_as(const ComponentValue& v) {
  if constexpr (component_detail::Inline<T, ComponentValue>::value) {
    return std::get<T>(v);
  } else {
    return *std::get<Boxed<T>>(v);
  }
}
template <class T>
const T* value_if(const ComponentValue* v) {
  if constexpr (component_detail::Inline<T, ComponentValue>::value) {
    return std::get_if<T>(v);
  } else {
    const auto* boxed = std::get_if<Boxed<T>>(v);
    return boxed ? &**boxed : nullptr;
  }
}

inline ComponentKind kind_of(const ComponentValue& v) {
  return static_cast<ComponentKind>(v.index());
}

struct ComponentSpec {
  std::string name;
  ComponentKind kind;
  std::int64_t bound = 0;  // kBoundedCounter only
  // The store keeps the set of entities holding this component (Store::entities_with), for
  // components read across the world by rare requests (the anticheat flags an investigator lists)
  // that would otherwise scan every key. Costs a set insert when an entity first gets one.
  bool indexed = false;
};

// Which CRDT kind each component id is. Built at start from defaults or configuration and then
// read-only, so every thread may read it.
class ComponentRegistry {
 public:
  // The game components of docs/state-model.md (ids 1..19 today; the table there is the list).
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
// The newest hybrid-logical-clock stamp a value carries (an LWW register's write, a first claim),
// or nullopt for kinds without stamps: what a receiving region merges into its clock.
std::optional<crdt::Hlc> newest_stamp(const ComponentValue& v);
std::string value_to_string(const ComponentValue& v);

}  // namespace worldline::replica
