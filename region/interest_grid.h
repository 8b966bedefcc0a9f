// InterestGrid: "who is within radius r of this point", answered from a uniform grid of buckets
// so a query touches only the buckets the circle overlaps. One per cell, holding the entities that
// stand in it, changed only by its worker between a tick's handler phases; the gateway's fan-out
// asks it for each client's area of interest, and a neighbouring cell's handlers read it for the
// ghosts near their edge.
//
// Entities are held in slots: insert() returns the slot, and the caller (RegionPipeline, which
// already looks the entity up in its placement table) keeps it to move or erase the entity later
// without a second lookup by id. A slot stays valid until it is erased or the grid is replaced.
// move() and erase() check that the slot still holds the entity they name: a stale slot is a bug,
// reported with the values, never a silent corruption.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>

#include "crdt/components.h"

namespace worldline::region {

class InterestGrid {
 public:
  using Slot = std::uint32_t;

  // REQUIRES: bucket_size > 0 (world units; about the typical query radius works well).
  explicit InterestGrid(double bucket_size);

  Slot insert(crdt::EntityId id, double x, double z);
  // REQUIRES: `slot` holds `id` (throws std::logic_error otherwise).
  void move(Slot slot, crdt::EntityId id, double x, double z);
  void erase(Slot slot, crdt::EntityId id);

  // Entities at distance <= r from (x, z), sorted by id.
  std::vector<crdt::EntityId> within(double x, double z, double r) const;
  // Calls f(id, x, z) for each of them, in no particular order.
  template <typename F>
  void for_each_within(double x, double z, double r, F&& f) const;
  std::size_t size() const { return live_; }

 private:
  struct Entry {
    crdt::EntityId id = 0;
    double x = 0, z = 0;
    std::uint64_t bucket = 0;
    std::uint32_t index = 0;  // position in its bucket's list
    bool live = false;
  };
  static std::uint64_t bucket_key(std::int64_t bx, std::int64_t bz) {
    return (static_cast<std::uint64_t>(bx) << 32) ^ static_cast<std::uint32_t>(bz);
  }
  std::uint64_t bucket_at(double x, double z) const;
  std::int64_t bucket_of(double v) const;
  Entry& checked(Slot slot, crdt::EntityId id);
  void link(Slot slot);
  void unlink(Slot slot);

  double bucket_size_;
  std::vector<Entry> entries_;
  std::vector<Slot> free_;
  std::size_t live_ = 0;
  boost::unordered_flat_map<std::uint64_t, std::vector<Slot>> buckets_;
};

template <typename F>
void InterestGrid::for_each_within(double x, double z, double r, F&& f) const {
  if (!(r >= 0) || !std::isfinite(x) || !std::isfinite(z)) return;
  const std::int64_t bx0 = bucket_of(x - r), bx1 = bucket_of(x + r);
  const std::int64_t bz0 = bucket_of(z - r), bz1 = bucket_of(z + r);
  const double r2 = r * r;
  auto visit = [&](const std::vector<Slot>& bucket) {
    for (Slot s : bucket) {
      const Entry& e = entries_[s];
      const double dx = e.x - x, dz = e.z - z;
      if (dx * dx + dz * dz <= r2) f(e.id, e.x, e.z);
    }
  };
  // A circle over more buckets than hold anything: visit those that do instead.
  if (static_cast<double>(bx1 - bx0 + 1) * static_cast<double>(bz1 - bz0 + 1) >
      static_cast<double>(buckets_.size())) {
    for (const auto& [key, bucket] : buckets_)
      visit(bucket);
    return;
  }
  for (std::int64_t bx = bx0; bx <= bx1; ++bx) {
    for (std::int64_t bz = bz0; bz <= bz1; ++bz) {
      auto it = buckets_.find(bucket_key(bx, bz));
      if (it != buckets_.end()) visit(it->second);
    }
  }
}

}  // namespace worldline::region
