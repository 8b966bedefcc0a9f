#include "region/items.h"

#include "region/game_rules.h"

namespace worldline::region {
namespace {

// splitmix64: a well-mixed 64-bit hash of the id; its top 53 bits as a fraction in [0, 1).
double unit_hash(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  x ^= x >> 31;
  return static_cast<double>(x >> 11) / 9007199254740992.0;  // 2^53
}

}  // namespace

std::vector<PlacedItem> scatter_items(const ItemField& field) {
  std::vector<PlacedItem> out;
  out.reserve(field.count);
  for (std::uint32_t i = 0; i < field.count; ++i) {
    const crdt::EntityId id = field.first_id + i;
    const double u = unit_hash(id), v = unit_hash(id ^ 0x5DEECE66Dull);
    out.push_back(PlacedItem{id,
                             {field.min_x + u * (field.max_x - field.min_x), 0,
                              field.min_z + v * (field.max_z - field.min_z)}});
  }
  return out;
}

void place_item(replica::Replica& world, crdt::EntityId id, const crdt::Vec3& at,
                std::int64_t kind) {
  using replica::ComponentValue;
  (void)world.write(replica::Key{id, kPositionComponent},
                    [&](ComponentValue& v) -> std::optional<ComponentValue> {
                      return std::get<crdt::Position>(v).assign(at, kItemPlacementStamp);
                    });
  (void)world.write(replica::Key{id, kItemKindComponent},
                    [&](ComponentValue& v) -> std::optional<ComponentValue> {
                      return std::get<crdt::HighScore>(v).set(kind);
                    });
}

std::size_t place_items(replica::Replica& world, const ItemField& field) {
  std::size_t written = 0;
  for (const PlacedItem& item : scatter_items(field)) {
    if (GameRules::is_item(world, item.id) && GameRules::position(world, item.id)) continue;
    place_item(world, item.id, item.at, field.kind);
    ++written;
  }
  return written;
}

}  // namespace worldline::region
