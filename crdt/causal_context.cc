#include "crdt/causal_context.h"

#include <algorithm>
#include <stdexcept>

namespace worldline::crdt {

std::string Dot::to_string() const {
  return "(" + std::to_string(replica) + ":" + std::to_string(counter) + ")";
}

bool CausalContext::contains(const Dot& d) const {
  auto it = versions_.find(d.replica);
  if (it != versions_.end() && d.counter <= it->second) return true;
  return cloud_.count(d) != 0;
}

std::uint64_t CausalContext::max_counter(ReplicaId r) const {
  std::uint64_t m = 0;
  if (auto it = versions_.find(r); it != versions_.end()) m = it->second;
  // The cloud is ordered by (replica, counter): the last dot of `r` is the largest.
  auto it = cloud_.upper_bound(Dot{r, UINT64_MAX});
  if (it != cloud_.begin()) {
    auto prev = std::prev(it);
    if (prev->replica == r) m = std::max(m, prev->counter);
  }
  return m;
}

Dot CausalContext::next_dot(ReplicaId r) {
  Dot d{r, max_counter(r) + 1};
  insert(d);
  return d;
}

void CausalContext::insert(const Dot& d) {
  if (d.counter == 0) throw std::invalid_argument("CausalContext::insert: dot counter 0");
  auto it = versions_.find(d.replica);
  const std::uint64_t v = it == versions_.end() ? 0 : it->second;
  if (d.counter <= v) return;
  if (d.counter == v + 1) {
    if (it == versions_.end()) {
      versions_.emplace(d.replica, d.counter);
    } else {
      it->second = d.counter;
    }
    compact();
  } else {
    cloud_.insert(d);
  }
}

void CausalContext::join(const CausalContext& other) {
  for (const auto& [r, n] : other.versions_) {
    auto& mine = versions_[r];
    mine = std::max(mine, n);
  }
  for (const Dot& d : other.cloud_) {
    if (!contains(d)) cloud_.insert(d);
  }
  compact();
}

void CausalContext::compact() {
  for (auto it = cloud_.begin(); it != cloud_.end();) {
    auto vit = versions_.find(it->replica);
    const std::uint64_t v = vit == versions_.end() ? 0 : vit->second;
    if (it->counter <= v) {
      it = cloud_.erase(it);  // already covered
    } else if (it->counter == v + 1) {
      if (vit == versions_.end()) {
        versions_.emplace(it->replica, it->counter);
      } else {
        vit->second = it->counter;
      }
      it = cloud_.erase(it);  // extends the vector; later dots of this replica follow in order
    } else {
      ++it;
    }
  }
}

std::uint64_t CausalContext::dot_count() const {
  std::uint64_t n = cloud_.size();
  for (const auto& [r, v] : versions_) {
    if (v > UINT64_MAX - n) return UINT64_MAX;  // saturate
    n += v;
  }
  return n;
}

void CausalContext::for_each_dot(const std::function<void(const Dot&)>& f) const {
  for (const auto& [r, v] : versions_) {
    for (std::uint64_t c = 1; c <= v; ++c)
      f(Dot{r, c});
  }
  for (const Dot& d : cloud_)
    f(d);
}

bool CausalContext::from_parts(const Versions& versions, const std::set<Dot>& cloud,
                               CausalContext* out) {
  CausalContext cc;
  for (const auto& [r, v] : versions) {
    if (v == 0) return false;
    cc.versions_.emplace(r, v);
  }
  for (const Dot& d : cloud) {
    if (d.counter == 0) return false;
    if (!cc.contains(d)) cc.cloud_.insert(d);
  }
  cc.compact();
  *out = std::move(cc);
  return true;
}

std::string CausalContext::to_string() const {
  std::string s = "{vv:[";
  bool first = true;
  for (const auto& [r, v] : versions_) {
    if (!first) s += ",";
    first = false;
    s += std::to_string(r) + ":" + std::to_string(v);
  }
  s += "] cloud:[";
  first = true;
  for (const Dot& d : cloud_) {
    if (!first) s += ",";
    first = false;
    s += d.to_string();
  }
  return s + "]}";
}

}  // namespace worldline::crdt
