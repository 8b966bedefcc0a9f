// Dot stores: the payload half of a causal CRDT (Almeida, Shoker, Baquero 2018, §5.1). A causal
// CRDT is a (store, CausalContext) pair; the context says which events the state has seen, the
// store says which of them are still live. Three stores compose every dot-based type here:
//   DotSet            — live dots (the add-wins flag inside an OR-set element);
//   DotFun<V>         — dot → immutable value (MV register, causal counter);
//   DotMap<K, S>      — key → nested store (OR-set elements, OR-map entries).
// Joining two stores needs both contexts: a dot one side has seen but no longer holds was removed,
// and stays removed; a dot the other side never saw is new, and is kept.
#pragma once

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "crdt/causal_context.h"
#include "crdt/scalar.h"

namespace worldline::crdt {

struct DotSet {
  std::vector<Dot> dots;  // sorted, unique
  bool operator==(const DotSet&) const = default;
};

template <class V>
struct DotFun {
  std::map<Dot, V> entries;
  bool operator==(const DotFun&) const = default;
};

template <class K, class S>
struct DotMap {
  std::map<K, S> entries;
  bool operator==(const DotMap&) const = default;
};

// --- bottom ----------------------------------------------------------------------------------
inline bool is_bottom(const DotSet& s) {
  return s.dots.empty();
}
template <class V>
bool is_bottom(const DotFun<V>& s) {
  return s.entries.empty();
}
template <class K, class S>
bool is_bottom(const DotMap<K, S>& s) {
  return s.entries.empty();
}

// --- visiting the dots a store holds ---------------------------------------------------------
template <class F>
void visit_dots(const DotSet& s, F&& f) {
  for (const Dot& d : s.dots)
    f(d);
}
template <class V, class F>
void visit_dots(const DotFun<V>& s, F&& f) {
  for (const auto& [d, v] : s.entries)
    f(d);
}
template <class K, class S, class F>
void visit_dots(const DotMap<K, S>& s, F&& f) {
  for (const auto& [k, v] : s.entries)
    visit_dots(v, f);
}

// Adds every dot the store holds to `out`.
template <class S>
void collect_dots(const S& s, CausalContext* out) {
  visit_dots(s, [out](const Dot& d) { out->insert(d); });
}

// --- join -------------------------------------------------------------------------------------
// join_store(a, ca, b, cb): a := a ⊔ b, given a's context `ca` and b's context `cb` (both before
// the join). The caller joins the contexts afterwards.
inline void join_store(DotSet& a, const CausalContext& ca, const DotSet& b,
                       const CausalContext& cb) {
  std::vector<Dot> out;
  out.reserve(a.dots.size() + b.dots.size());
  auto ia = a.dots.begin();
  auto ib = b.dots.begin();
  while (ia != a.dots.end() || ib != b.dots.end()) {
    if (ib == b.dots.end() || (ia != a.dots.end() && *ia < *ib)) {
      if (!cb.contains(*ia)) out.push_back(*ia);  // b has not seen it: keep
      ++ia;
    } else if (ia == a.dots.end() || *ib < *ia) {
      if (!ca.contains(*ib)) out.push_back(*ib);  // a has not seen it: new
      ++ib;
    } else {
      out.push_back(*ia);  // both hold it
      ++ia;
      ++ib;
    }
  }
  a.dots = std::move(out);
}

template <class V>
void join_store(DotFun<V>& a, const CausalContext& ca, const DotFun<V>& b,
                const CausalContext& cb) {
  for (auto it = a.entries.begin(); it != a.entries.end();) {
    if (cb.contains(it->first) && !b.entries.count(it->first)) {
      it = a.entries.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& [d, v] : b.entries) {
    if (!ca.contains(d)) a.entries.emplace(d, v);
  }
}

template <class K, class S>
void join_store(DotMap<K, S>& a, const CausalContext& ca, const DotMap<K, S>& b,
                const CausalContext& cb) {
  static const S kBottom{};
  for (auto it = a.entries.begin(); it != a.entries.end();) {
    auto jt = b.entries.find(it->first);
    join_store(it->second, ca, jt == b.entries.end() ? kBottom : jt->second, cb);
    if (is_bottom(it->second)) {
      it = a.entries.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& [k, s] : b.entries) {
    if (a.entries.count(k)) continue;
    S joined{};
    join_store(joined, ca, s, cb);
    if (!is_bottom(joined)) a.entries.emplace(k, std::move(joined));
  }
}

// --- printing ---------------------------------------------------------------------------------
inline std::string store_to_string(const DotSet& s) {
  std::string out = "{";
  for (std::size_t i = 0; i < s.dots.size(); ++i)
    out += (i ? "," : "") + s.dots[i].to_string();
  return out + "}";
}
template <class V>
std::string store_to_string(const DotFun<V>& s) {
  std::string out = "{";
  bool first = true;
  for (const auto& [d, v] : s.entries) {
    out += (first ? "" : ",") + d.to_string() + "=" + scalar_to_string(v);
    first = false;
  }
  return out + "}";
}
template <class K, class S>
std::string store_to_string(const DotMap<K, S>& s) {
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : s.entries) {
    out += (first ? "" : ",") + scalar_to_string(k) + ":" + store_to_string(v);
    first = false;
  }
  return out + "}";
}

}  // namespace worldline::crdt
