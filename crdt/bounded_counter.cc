#include "crdt/bounded_counter.h"

#include <algorithm>
#include <limits>
#include <set>
#include <stdexcept>

namespace worldline::crdt {
namespace {

template <class Map>
void join_max(Map& into, const Map& from) {
  for (const auto& [k, n] : from) {
    auto [it, inserted] = into.emplace(k, n);
    if (!inserted) it->second = std::max(it->second, n);
  }
}

template <class Map, class Key>
std::uint64_t get(const Map& m, const Key& k) {
  auto it = m.find(k);
  return it == m.end() ? 0 : it->second;
}

std::int64_t saturate(__int128 v) {
  if (v > std::numeric_limits<std::int64_t>::max()) return std::numeric_limits<std::int64_t>::max();
  if (v < std::numeric_limits<std::int64_t>::min()) return std::numeric_limits<std::int64_t>::min();
  return static_cast<std::int64_t>(v);
}

}  // namespace

BoundedCounter::BoundedCounter(std::int64_t bound, PerReplica increments, PerReplica decrements,
                               Transfers transfers)
    : bound_(bound),
      inc_(std::move(increments)),
      dec_(std::move(decrements)),
      xfer_(std::move(transfers)) {}

BoundedCounter BoundedCounter::increment(ReplicaId r, std::uint64_t n) {
  BoundedCounter delta(bound_);
  if (n == 0) return delta;
  auto& mine = inc_[r];
  mine += n;
  delta.inc_.emplace(r, mine);
  return delta;
}

Result<BoundedCounter> BoundedCounter::decrement(ReplicaId r, std::uint64_t n) {
  const std::int64_t have = rights(r);
  if (have < 0 || static_cast<std::uint64_t>(have) < n) {
    return make_error(ErrorCode::kInsufficientRights,
                      "replica " + std::to_string(r) + " holds " + std::to_string(have) +
                          " rights, decrement needs " + std::to_string(n));
  }
  BoundedCounter delta(bound_);
  if (n == 0) return delta;
  auto& mine = dec_[r];
  mine += n;
  delta.dec_.emplace(r, mine);
  return delta;
}

Result<BoundedCounter> BoundedCounter::transfer(ReplicaId from, ReplicaId to, std::uint64_t n) {
  if (from == to) {
    return make_error(ErrorCode::kInvalidArgument,
                      "transfer from replica " + std::to_string(from) + " to itself");
  }
  const std::int64_t have = rights(from);
  if (have < 0 || static_cast<std::uint64_t>(have) < n) {
    return make_error(ErrorCode::kInsufficientRights,
                      "replica " + std::to_string(from) + " holds " + std::to_string(have) +
                          " rights, transfer needs " + std::to_string(n));
  }
  BoundedCounter delta(bound_);
  if (n == 0) return delta;
  auto& mine = xfer_[{from, to}];
  mine += n;
  delta.xfer_.emplace(std::make_pair(from, to), mine);
  return delta;
}

// Sums are taken in 128 bits and saturated, so no state — even a hostile decoded one — can
// overflow them.
std::int64_t BoundedCounter::value() const {
  __int128 v = bound_;
  for (const auto& [r, n] : inc_)
    v += n;
  for (const auto& [r, n] : dec_)
    v -= n;
  return saturate(v);
}

std::int64_t BoundedCounter::rights(ReplicaId r) const {
  __int128 have = static_cast<__int128>(get(inc_, r)) - get(dec_, r);
  for (const auto& [key, n] : xfer_) {
    if (key.second == r) have += n;
    if (key.first == r) have -= n;
  }
  return saturate(have);
}

void BoundedCounter::join(const BoundedCounter& other) {
  if (bound_ != other.bound_) {
    throw std::logic_error("BoundedCounter::join: bounds differ (" + std::to_string(bound_) +
                           " vs " + std::to_string(other.bound_) + ")");
  }
  join_max(inc_, other.inc_);
  join_max(dec_, other.dec_);
  join_max(xfer_, other.xfer_);
}

bool BoundedCounter::well_formed() const {
  std::set<ReplicaId> replicas;
  for (const auto& [r, n] : inc_)
    replicas.insert(r);
  for (const auto& [r, n] : dec_)
    replicas.insert(r);
  for (const auto& [key, n] : xfer_) {
    if (key.first == key.second) return false;
    replicas.insert(key.first);
  }
  return std::all_of(replicas.begin(), replicas.end(),
                     [this](ReplicaId r) { return rights(r) >= 0; });
}

std::string BoundedCounter::to_string() const {
  std::string s =
      "BoundedCounter{" + std::to_string(value()) + " >= " + std::to_string(bound_) + " rights:[";
  std::set<ReplicaId> replicas;
  for (const auto& [r, n] : inc_)
    replicas.insert(r);
  for (const auto& [key, n] : xfer_)
    replicas.insert(key.second);
  bool first = true;
  for (ReplicaId r : replicas) {
    s += (first ? "" : ",") + std::to_string(r) + ":" + std::to_string(rights(r));
    first = false;
  }
  return s + "]}";
}

}  // namespace worldline::crdt
