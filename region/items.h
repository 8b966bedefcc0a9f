// Items on the ground: where the world's initial items stand, and writing them into a region's
// replica. The layout is a pure function of the configuration (ids first_id .. first_id + count -
// 1, positions from a hash of the id over `area`), and every write of it carries the same fixed
// stamp, so regions that each place the same items write identical CRDT state: it converges with
// no conflict, whichever region wrote first, and a region restarted from its journal (or one that
// already received the items from a peer) writes nothing. Called by the region host when it is
// built (gateway/region_host.h); the pickup rule checks items against it (game_rules.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "crdt/components.h"
#include "crdt/hlc.h"
#include "crdt/scalar.h"
#include "replica/replica.h"

namespace worldline::region {

// Component of an item (replica::ComponentRegistry::game_defaults()): its kind, >= 1. Its presence
// is what makes an entity an item that can be picked up.
inline constexpr replica::ComponentId kItemKindComponent = 15;

struct ItemField {
  std::uint32_t count = 0;  // items placed at the first start; 0: none
  // Ids of the items: first_id, first_id + 1, ... Player ids (token subjects) must stay out of
  // this range. Below 2^53, so JSON clients in JavaScript read them exactly.
  crdt::EntityId first_id = 1'000'000'000'000;
  // Where they are scattered, uniformly: [min_x, max_x) × [min_z, max_z), at y = 0.
  double min_x = -10'000, min_z = -10'000, max_x = 10'000, max_z = 10'000;
  std::int64_t kind = 1;  // written to kItemKindComponent
};

// The stamp of every placement write: the same on every region, and older than any stamp a
// clock gives, so a later write of a real game rule (e.g. moving an item) wins over it.
inline constexpr crdt::Hlc kItemPlacementStamp{1, 0, 0};

struct PlacedItem {
  crdt::EntityId id = 0;
  crdt::Vec3 at;
};

// The field's items, by ascending id. Deterministic: the same field gives the same items on
// every machine.
std::vector<PlacedItem> scatter_items(const ItemField& field);

// Writes the position and kind of every item of the field that `world` does not hold yet (into
// its open delta group). Returns how many were written.
std::size_t place_items(replica::Replica& world, const ItemField& field);

// Writes one item (position and kind, with kItemPlacementStamp), as place_items does for each:
// a studio's own items, or a test's.
void place_item(replica::Replica& world, crdt::EntityId id, const crdt::Vec3& at,
                std::int64_t kind = 1);

}  // namespace worldline::region
