#include "region/interest_grid.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace worldline::region {

InterestGrid::InterestGrid(double bucket_size) : bucket_size_(bucket_size) {
  if (!(bucket_size > 0) || !std::isfinite(bucket_size)) {
    throw std::invalid_argument("InterestGrid: bucket size must be positive and finite");
  }
}

std::int64_t InterestGrid::bucket_of(double v) const {
  return static_cast<std::int64_t>(std::floor(v / bucket_size_));
}

void InterestGrid::unlink(crdt::EntityId id, const Place& p) {
  auto it = buckets_.find(bucket_key(p.bx, p.bz));
  if (it == buckets_.end()) return;
  auto& v = it->second;
  v.erase(std::remove(v.begin(), v.end(), id), v.end());
  if (v.empty()) buckets_.erase(it);
}

void InterestGrid::upsert(crdt::EntityId id, double x, double z) {
  const Place next{x, z, bucket_of(x), bucket_of(z)};
  auto it = where_.find(id);
  if (it != where_.end()) {
    if (it->second.bx == next.bx && it->second.bz == next.bz) {
      it->second = next;  // same bucket: just the coordinates
      return;
    }
    unlink(id, it->second);
    it->second = next;
  } else {
    where_.emplace(id, next);
  }
  buckets_[bucket_key(next.bx, next.bz)].push_back(id);
}

void InterestGrid::remove(crdt::EntityId id) {
  auto it = where_.find(id);
  if (it == where_.end()) return;
  unlink(id, it->second);
  where_.erase(it);
}

std::vector<crdt::EntityId> InterestGrid::within(double x, double z, double r) const {
  std::vector<crdt::EntityId> out;
  if (!(r >= 0) || !std::isfinite(x) || !std::isfinite(z)) return out;
  const std::int64_t bx0 = bucket_of(x - r), bx1 = bucket_of(x + r);
  const std::int64_t bz0 = bucket_of(z - r), bz1 = bucket_of(z + r);
  const double r2 = r * r;
  for (std::int64_t bx = bx0; bx <= bx1; ++bx) {
    for (std::int64_t bz = bz0; bz <= bz1; ++bz) {
      auto it = buckets_.find(bucket_key(bx, bz));
      if (it == buckets_.end()) continue;
      for (crdt::EntityId id : it->second) {
        const Place& p = where_.at(id);
        const double dx = p.x - x, dz = p.z - z;
        if (dx * dx + dz * dz <= r2) out.push_back(id);
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace worldline::region
