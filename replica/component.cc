#include "replica/component.h"

#include <array>
#include <stdexcept>
#include <utility>

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
  (void)r.add(13, {"input_seq", ComponentKind::kMaxInt});  // highest client seq processed
  // A player's item claims granted and not yet known lost, "<item>:<seq>" (gateway/region_host.h).
  (void)r.add(14, {"pending_claims", ComponentKind::kTextSet});
  // Present on items only (region/items.h): the item's kind; an entity without it is no item.
  (void)r.add(15, {"item_kind", ComponentKind::kMaxInt});
  // A player's anticheat flags, one line each (region/anticheat/flag_record.h).
  (void)r.add(16, {.name = "anticheat_flags", .kind = ComponentKind::kTextSet, .indexed = true});
  // Reviewers' verdicts on a player's flags, one line each (region/anticheat/verdict_record.h).
  (void)r.add(17, {.name = "anticheat_verdicts", .kind = ComponentKind::kTextSet, .indexed = true});
  // Retired (the first-claim register of world-event spawners, before event_claims): registered
  // so that values written by older nodes still decode; nothing reads or writes it.
  (void)r.add(18, {"event_spawner", ComponentKind::kFirstClaim});
  // On a world-event instance's id: the regions' claims to spawn it and who has seen them
  // (region/director/spawn_claims.h, docs/world-events.md#one-spawner).
  (void)r.add(19, {.name = "event_claims", .kind = ComponentKind::kTextSet, .indexed = true});
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

namespace {

// ComponentValue's alternatives are in ComponentKind order, so the kind → CRDT type mapping is the
// variant itself; these tables are built from it rather than written out case by case.
constexpr std::size_t kKinds = std::variant_size_v<ComponentValue>;
static_assert(static_cast<std::size_t>(ComponentKind::kGCounter) + 1 == kKinds,
              "one ComponentValue alternative per ComponentKind, in the same order");

template <std::size_t I>
ComponentValue bottom_of() {
  return ComponentValue(std::in_place_index<I>);
}

template <std::size_t I>
crdt::Result<ComponentValue> decode_as(std::string_view bytes) {
  using T = typename Unboxed<std::variant_alternative_t<I, ComponentValue>>::type;
  auto r = crdt::decode<T>(bytes);
  if (!r) return r.error();
  return ComponentValue(std::in_place_index<I>, std::move(r).value());
}

template <std::size_t... I>
constexpr auto make_tables(std::index_sequence<I...>) {
  struct Tables {
    std::array<ComponentValue (*)(), kKinds> bottom;
    std::array<crdt::Result<ComponentValue> (*)(std::string_view), kKinds> decode;
  };
  return Tables{{&bottom_of<I>...}, {&decode_as<I>...}};
}

constexpr auto kTables = make_tables(std::make_index_sequence<kKinds>{});

std::size_t index_of(ComponentKind kind) {
  const auto i = static_cast<std::size_t>(kind);
  if (i >= kKinds) throw std::logic_error("bad component kind " + std::to_string(i));
  return i;
}

}  // namespace

ComponentValue ComponentRegistry::bottom(ComponentId id) const {
  const ComponentSpec* spec = find(id);
  if (!spec) throw std::logic_error("bottom: unknown component id " + std::to_string(id));
  if (spec->kind == ComponentKind::kBoundedCounter) return crdt::Gold{spec->bound};
  return kTables.bottom[index_of(spec->kind)]();
}

std::string encode_value(const ComponentValue& v) {
  return std::visit([](const auto& x) { return crdt::encode(unbox(x)); }, v);
}

crdt::Result<ComponentValue> decode_value(const ComponentRegistry& registry, ComponentId id,
                                          std::string_view bytes) {
  const ComponentSpec* spec = registry.find(id);
  if (!spec) {
    return crdt::make_error(crdt::ErrorCode::kInvalidArgument,
                            "unknown component id " + std::to_string(id));
  }
  auto r = kTables.decode[index_of(spec->kind)](bytes);
  if (!r) return crdt::make_error(r.error().code, spec->name + ": " + r.error().message);
  if (const auto* gold = value_if<crdt::Gold>(&r.value()); gold && gold->bound() != spec->bound) {
    return crdt::make_error(crdt::ErrorCode::kInvalidState,
                            spec->name + ": bound " + std::to_string(gold->bound()) +
                                " differs from the configured " + std::to_string(spec->bound));
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
        unbox(x).join(unbox(std::get<T>(from)));
      },
      into);
}

std::string value_to_string(const ComponentValue& v) {
  return std::visit([](const auto& x) { return unbox(x).to_string(); }, v);
}

std::optional<crdt::Hlc> newest_stamp(const ComponentValue& v) {
  if (const auto* p = std::get_if<crdt::Position>(&v); p && !p->stamp().is_zero()) {
    return p->stamp();
  }
  if (const auto* o = std::get_if<crdt::UniqueItemOwner>(&v); o && o->winning_claim()) {
    return o->winning_claim()->at;
  }
  return std::nullopt;
}

}  // namespace worldline::replica
