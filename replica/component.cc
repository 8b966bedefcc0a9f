#include "replica/component.h"

#include <stdexcept>

#include "crdt/codec.h"

namespace worldline::replica {

const char* to_string(ComponentKind kind) {
  static constexpr const char* kNames[] = {
      "lww_vec3", "pn_counter", "bounded_counter", "first_claim", "inventory", "text_set",
      "id_set",   "authority",  "mv_text",         "max_int",     "g_counter"};
  const auto i = static_cast<std::size_t>(kind);
  return i < std::size(kNames) ? kNames[i] : "unknown";
}

ComponentRegistry ComponentRegistry::game_defaults() {
  ComponentRegistry r;
  (void)r.add(1, {"position", ComponentKind::kLwwVec3});
  (void)r.add(2, {"velocity", ComponentKind::kLwwVec3});
  (void)r.add(3, {"health", ComponentKind::kPNCounter});
  (void)r.add(4, {"gold", ComponentKind::kBoundedCounter, 0});
  (void)r.add(5, {"unique_item_owner", ComponentKind::kFirstClaim});
  (void)r.add(6, {"inventory", ComponentKind::kInventory});
  (void)r.add(7, {"buffs", ComponentKind::kTextSet});
  (void)r.add(8, {"guild_members", ComponentKind::kIdSet});
  (void)r.add(9, {"authority", ComponentKind::kAuthority});
  (void)r.add(10, {"display_name", ComponentKind::kMvText});
  (void)r.add(11, {"high_score", ComponentKind::kMaxInt});
  (void)r.add(12, {"kills", ComponentKind::kGCounter});
  return r;
}

crdt::Result<bool> ComponentRegistry::add(ComponentId id, ComponentSpec spec) {
  if (specs_.count(id)) {
    return crdt::make_error(crdt::ErrorCode::kInvalidArgument,
                            "component id " + std::to_string(id) + " defined twice");
  }
  ComponentId existing;
  if (find(spec.name, &existing)) {
    return crdt::make_error(crdt::ErrorCode::kInvalidArgument,
                            "component name '" + spec.name + "' defined twice");
  }
  specs_.emplace(id, std::move(spec));
  return true;
}

const ComponentSpec* ComponentRegistry::find(ComponentId id) const {
  auto it = specs_.find(id);
  return it == specs_.end() ? nullptr : &it->second;
}

const ComponentSpec* ComponentRegistry::find(std::string_view name, ComponentId* id) const {
  for (const auto& [i, spec] : specs_) {
    if (spec.name == name) {
      *id = i;
      return &spec;
    }
  }
  return nullptr;
}

ComponentValue ComponentRegistry::bottom(ComponentId id) const {
  const ComponentSpec* spec = find(id);
  if (!spec) throw std::logic_error("bottom: unknown component id " + std::to_string(id));
  switch (spec->kind) {
    case ComponentKind::kLwwVec3:
      return crdt::Position{};
    case ComponentKind::kPNCounter:
      return crdt::Health{};
    case ComponentKind::kBoundedCounter:
      return crdt::Gold{spec->bound};
    case ComponentKind::kFirstClaim:
      return crdt::UniqueItemOwner{};
    case ComponentKind::kInventory:
      return crdt::Inventory{};
    case ComponentKind::kTextSet:
      return crdt::Buffs{};
    case ComponentKind::kIdSet:
      return crdt::GuildMembers{};
    case ComponentKind::kAuthority:
      return crdt::EntityAuthority{};
    case ComponentKind::kMvText:
      return crdt::DisplayName{};
    case ComponentKind::kMaxInt:
      return crdt::HighScore{};
    case ComponentKind::kGCounter:
      return crdt::Kills{};
  }
  throw std::logic_error("bottom: bad kind");
}

std::string encode_value(const ComponentValue& v) {
  return std::visit([](const auto& x) { return crdt::encode(x); }, v);
}

namespace {

template <class T>
crdt::Result<ComponentValue> decode_as(std::string_view bytes) {
  auto r = crdt::decode<T>(bytes);
  if (!r) return r.error();
  return ComponentValue(std::move(r).value());
}

}  // namespace

crdt::Result<ComponentValue> decode_value(const ComponentRegistry& registry, ComponentId id,
                                          std::string_view bytes) {
  const ComponentSpec* spec = registry.find(id);
  if (!spec) {
    return crdt::make_error(crdt::ErrorCode::kInvalidArgument,
                            "unknown component id " + std::to_string(id));
  }
  crdt::Result<ComponentValue> r = crdt::make_error(crdt::ErrorCode::kDecode, "unreachable");
  switch (spec->kind) {
    case ComponentKind::kLwwVec3:
      r = decode_as<crdt::Position>(bytes);
      break;
    case ComponentKind::kPNCounter:
      r = decode_as<crdt::Health>(bytes);
      break;
    case ComponentKind::kBoundedCounter:
      r = decode_as<crdt::Gold>(bytes);
      if (r && std::get<crdt::Gold>(r.value()).bound() != spec->bound) {
        return crdt::make_error(crdt::ErrorCode::kInvalidState,
                                spec->name + ": bound " +
                                    std::to_string(std::get<crdt::Gold>(r.value()).bound()) +
                                    " differs from the configured " + std::to_string(spec->bound));
      }
      break;
    case ComponentKind::kFirstClaim:
      r = decode_as<crdt::UniqueItemOwner>(bytes);
      break;
    case ComponentKind::kInventory:
      r = decode_as<crdt::Inventory>(bytes);
      break;
    case ComponentKind::kTextSet:
      r = decode_as<crdt::Buffs>(bytes);
      break;
    case ComponentKind::kIdSet:
      r = decode_as<crdt::GuildMembers>(bytes);
      break;
    case ComponentKind::kAuthority:
      r = decode_as<crdt::EntityAuthority>(bytes);
      break;
    case ComponentKind::kMvText:
      r = decode_as<crdt::DisplayName>(bytes);
      break;
    case ComponentKind::kMaxInt:
      r = decode_as<crdt::HighScore>(bytes);
      break;
    case ComponentKind::kGCounter:
      r = decode_as<crdt::Kills>(bytes);
      break;
  }
  if (!r) {
    return crdt::make_error(r.error().code, spec->name + ": " + r.error().message);
  }
  return r;
}

void join_value(ComponentValue& into, const ComponentValue& from) {
  if (into.index() != from.index()) {
    throw std::logic_error(std::string("join_value: kind ") + to_string(kind_of(into)) + " vs " +
                           to_string(kind_of(from)));
  }
  std::visit(
      [&](auto& x) {
        using T = std::decay_t<decltype(x)>;
        x.join(std::get<T>(from));
      },
      into);
}

std::string value_to_string(const ComponentValue& v) {
  return std::visit([](const auto& x) { return x.to_string(); }, v);
}

}  // namespace worldline::replica
