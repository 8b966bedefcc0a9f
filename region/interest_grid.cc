#include "region/interest_grid.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace worldline::region {

InterestGrid::InterestGrid(double bucket_size) : bucket_size_(bucket_size) {
  if (!(bucket_size > 0) || !std::isfinite(bucket_size)) {
    throw std::invalid_argument("InterestGrid: bucket size must be positive and finite");
  }
}

std::int64_t InterestGrid::bucket_of(double v) const {
  return static_cast<std::int64_t>(std::floor(v / bucket_size_));
}

std::uint64_t InterestGrid::bucket_at(double x, double z) const {
  return bucket_key(bucket_of(x), bucket_of(z));
}

InterestGrid::Entry& InterestGrid::checked(Slot slot, crdt::EntityId id) {
  if (slot >= entries_.size() || !entries_[slot].live || entries_[slot].id != id) {
    throw std::logic_error(
        "InterestGrid: slot " + std::to_string(slot) + " does not hold entity " +
        std::to_string(id) +
        (slot < entries_.size() ? " (it holds " + std::to_string(entries_[slot].id) + ")" : ""));
  }
  return entries_[slot];
}

void InterestGrid::link(Slot slot) {
  Entry& e = entries_[slot];
  auto& list = buckets_[e.bucket];
  e.index = static_cast<std::uint32_t>(list.size());
  list.push_back(slot);
}

void InterestGrid::unlink(Slot slot) {
  const Entry& e = entries_[slot];
  auto it = buckets_.find(e.bucket);
  auto& list = it->second;
  // Swap-remove: the last slot of the bucket takes this one's place.
  const Slot last = list.back();
  list[e.index] = last;
  entries_[last].index = e.index;
  list.pop_back();
  if (list.empty()) buckets_.erase(it);
}

InterestGrid::Slot InterestGrid::insert(crdt::EntityId id, double x, double z) {
  Slot slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    slot = static_cast<Slot>(entries_.size());
    entries_.emplace_back();
  }
  entries_[slot] = Entry{id, x, z, bucket_at(x, z), 0, true};
  link(slot);
  ++live_;
  return slot;
}

void InterestGrid::move(Slot slot, crdt::EntityId id, double x, double z) {
  Entry& e = checked(slot, id);
  e.x = x;
  e.z = z;
  const std::uint64_t bucket = bucket_at(x, z);
  if (bucket == e.bucket) return;  // the common case: coordinates only
  unlink(slot);
  e.bucket = bucket;
  link(slot);
}

void InterestGrid::erase(Slot slot, crdt::EntityId id) {
  checked(slot, id);
  unlink(slot);
  entries_[slot].live = false;
  free_.push_back(slot);
  --live_;
}

std::vector<crdt::EntityId> InterestGrid::within(double x, double z, double r) const {
  std::vector<crdt::EntityId> out;
  for_each_within(x, z, r, [&out](crdt::EntityId id, double, double) { out.push_back(id); });
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace worldline::region
