// InterestGrid: "who is within radius r of this point", answered from a uniform grid of buckets
// so a query touches only the buckets the circle overlaps. One per cell, owned by its worker; the
// gateway's fan-out asks it for each client's area of interest, and ghosts from neighbouring cells
// are inserted like any other entity.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "crdt/components.h"

namespace worldline::region {

class InterestGrid {
 public:
  // REQUIRES: bucket_size > 0 (world units; about the typical query radius works well).
  explicit InterestGrid(double bucket_size);

  // Inserts or moves an entity.
  void upsert(crdt::EntityId id, double x, double z);
  void remove(crdt::EntityId id);
  // Entities at distance <= r from (x, z), sorted by id.
  std::vector<crdt::EntityId> within(double x, double z, double r) const;
  std::size_t size() const { return where_.size(); }

 private:
  struct Place {
    double x, z;
    std::int64_t bx, bz;
  };
  static std::uint64_t bucket_key(std::int64_t bx, std::int64_t bz) {
    return (static_cast<std::uint64_t>(bx) << 32) ^ static_cast<std::uint32_t>(bz);
  }
  std::int64_t bucket_of(double v) const;
  void unlink(crdt::EntityId id, const Place& p);

  double bucket_size_;
  std::unordered_map<crdt::EntityId, Place> where_;
  std::unordered_map<std::uint64_t, std::vector<crdt::EntityId>> buckets_;
};

}  // namespace worldline::region
