#include "crdt/gcounter.h"

#include <algorithm>

namespace worldline::crdt {

namespace {

// The entry of `r` in sorted `entries`, or where it would go.
template <class Entries>
auto find_slot(Entries& entries, ReplicaId r) {
  return std::lower_bound(entries.begin(), entries.end(), r,
                          [](const auto& e, ReplicaId id) { return e.first < id; });
}

}  // namespace

GCounter GCounter::increment(ReplicaId r, std::uint64_t n) {
  GCounter delta;
  if (n == 0) return delta;
  auto it = find_slot(entries_, r);
  if (it == entries_.end() || it->first != r) it = entries_.insert(it, {r, 0});
  it->second += n;
  delta.entries_.emplace_back(r, it->second);
  return delta;
}

std::uint64_t GCounter::value() const {
  std::uint64_t sum = 0;
  for (const auto& [r, n] : entries_)
    sum += n;
  return sum;
}

std::uint64_t GCounter::contribution(ReplicaId r) const {
  auto it = find_slot(entries_, r);
  return it == entries_.end() || it->first != r ? 0 : it->second;
}

void GCounter::join(const GCounter& other) {
  for (const auto& [r, n] : other.entries_) {
    auto it = find_slot(entries_, r);
    if (it == entries_.end() || it->first != r) {
      entries_.insert(it, {r, n});
    } else {
      it->second = std::max(it->second, n);
    }
  }
}

std::string GCounter::to_string() const {
  std::string s = "GCounter{" + std::to_string(value()) + " [";
  bool first = true;
  for (const auto& [r, n] : entries_) {
    s += (first ? "" : ",") + std::to_string(r) + ":" + std::to_string(n);
    first = false;
  }
  return s + "]}";
}

PNCounter PNCounter::increment(ReplicaId r, std::uint64_t n) {
  return PNCounter(p_.increment(r, n), GCounter{});
}

PNCounter PNCounter::decrement(ReplicaId r, std::uint64_t n) {
  return PNCounter(GCounter{}, n_.increment(r, n));
}

std::int64_t PNCounter::value() const {
  return static_cast<std::int64_t>(p_.value() - n_.value());
}

void PNCounter::join(const PNCounter& other) {
  p_.join(other.p_);
  n_.join(other.n_);
}

std::string PNCounter::to_string() const {
  return "PNCounter{" + std::to_string(value()) + " +" + p_.to_string() + " -" + n_.to_string() +
         "}";
}

}  // namespace worldline::crdt
