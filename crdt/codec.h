// The Cap'n Proto encoding of every CRDT type (schemas/crdt.capnp), in one place: encode<T>(v)
// gives compact packed bytes, decode<T>(bytes) gives the value back or an Error saying what was
// wrong — truncated input, garbage, a union member of the wrong kind, a non-finite float, a dot
// outside its context, a zero, oversized or self transfer of a bounded counter. Decoding never
// crashes. A bounded counter's rights are not checked here: a delta (a transfer alone) is a
// partial state whose rights may look negative; the replica checks well_formed() on the state a
// join would give (replica/store.cc) and refuses the join otherwise.
//
// Templates convert to a small intermediate form (StoreNode, Scalar) here; the Cap'n Proto code
// lives in codec.cc, so this header pulls in no Cap'n Proto include.
#pragma once

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crdt/aw_or_set.h"
#include "crdt/bounded_counter.h"
#include "crdt/causal_counter.h"
#include "crdt/gcounter.h"
#include "crdt/hlc.h"
#include "crdt/lww_register.h"
#include "crdt/mv_register.h"
#include "crdt/or_map.h"
#include "crdt/policies.h"
#include "crdt/result.h"
#include "crdt/scalar.h"

namespace worldline::crdt {

// ---- intermediate form of dot stores ---------------------------------------------------------
struct StoreEntry;
struct StoreNode {
  enum class Kind { kDotSet, kDotFun, kDotMap };
  Kind kind = Kind::kDotSet;
  std::vector<Dot> dots;                    // kDotSet
  std::vector<std::pair<Dot, Scalar>> fun;  // kDotFun
  std::vector<StoreEntry> map;              // kDotMap
};
struct StoreEntry {
  Scalar key;
  StoreNode value;
};

namespace codec_detail {

struct CausalIr {
  StoreNode store;
  CausalContext context;
};
struct StampedScalar {
  Hlc stamp;
  std::optional<Scalar> value;
};

std::string encode_causal(const CausalIr& ir);
// Validates: well-formed context, every store dot unique and inside the context, floats finite.
Result<CausalIr> decode_causal(std::string_view bytes);
std::string encode_lww(const StampedScalar& s);
Result<StampedScalar> decode_lww(std::string_view bytes);
std::string encode_extremum(const std::optional<Scalar>& v);
Result<std::optional<Scalar>> decode_extremum(std::string_view bytes);
std::string encode_first_claim(const StampedScalar& s);
Result<StampedScalar> decode_first_claim(std::string_view bytes);

Error kind_mismatch(const char* what, const char* expected, const char* found);

template <class T>
Result<T> scalar_as(const Scalar& s, const char* what) {
  if (const T* v = ScalarTraits<T>::from_scalar(s)) return *v;
  return kind_mismatch(what, ScalarTraits<T>::kName, scalar_kind(s));
}

}  // namespace codec_detail

// ---- store <-> intermediate form -------------------------------------------------------------
template <class S>
struct StoreIr;

template <>
struct StoreIr<DotSet> {
  static StoreNode to(const DotSet& s) {
    StoreNode n;
    n.kind = StoreNode::Kind::kDotSet;
    n.dots = s.dots;
    return n;
  }
  static Result<DotSet> from(const StoreNode& n) {
    if (n.kind != StoreNode::Kind::kDotSet) {
      return codec_detail::kind_mismatch("dot store", "dotSet", "another store kind");
    }
    DotSet s{n.dots};
    std::sort(s.dots.begin(), s.dots.end());
    return s;
  }
};

template <class V>
struct StoreIr<DotFun<V>> {
  static StoreNode to(const DotFun<V>& s) {
    StoreNode n;
    n.kind = StoreNode::Kind::kDotFun;
    for (const auto& [d, v] : s.entries)
      n.fun.emplace_back(d, ScalarTraits<V>::to_scalar(v));
    return n;
  }
  static Result<DotFun<V>> from(const StoreNode& n) {
    if (n.kind != StoreNode::Kind::kDotFun) {
      return codec_detail::kind_mismatch("dot store", "dotFun", "another store kind");
    }
    DotFun<V> s;
    for (const auto& [d, sv] : n.fun) {
      auto v = codec_detail::scalar_as<V>(sv, "register value");
      if (!v) return v.error();
      s.entries.emplace(d, std::move(v).value());
    }
    return s;
  }
};

template <class K, class S>
struct StoreIr<DotMap<K, S>> {
  static StoreNode to(const DotMap<K, S>& s) {
    StoreNode n;
    n.kind = StoreNode::Kind::kDotMap;
    for (const auto& [k, v] : s.entries) {
      n.map.push_back(StoreEntry{ScalarTraits<K>::to_scalar(k), StoreIr<S>::to(v)});
    }
    return n;
  }
  static Result<DotMap<K, S>> from(const StoreNode& n) {
    if (n.kind != StoreNode::Kind::kDotMap) {
      return codec_detail::kind_mismatch("dot store", "dotMap", "another store kind");
    }
    DotMap<K, S> s;
    for (const StoreEntry& e : n.map) {
      auto k = codec_detail::scalar_as<K>(e.key, "map key");
      if (!k) return k.error();
      auto v = StoreIr<S>::from(e.value);
      if (!v) return v.error();
      if (is_bottom(v.value())) {
        return make_error(ErrorCode::kInvalidState,
                          "map entry " + to_string(e.key) + " holds an empty value");
      }
      if (!s.entries.emplace(std::move(k).value(), std::move(v).value()).second) {
        return make_error(ErrorCode::kInvalidState, "duplicate map key " + to_string(e.key));
      }
    }
    return s;
  }
};

// ---- Codec<T> --------------------------------------------------------------------------------
template <class T>
struct Codec;

template <class T>
std::string encode(const T& value) {
  return Codec<T>::encode(value);
}
template <class T>
Result<T> decode(std::string_view bytes) {
  return Codec<T>::decode(bytes);
}

template <>
struct Codec<GCounter> {
  static std::string encode(const GCounter& v);
  static Result<GCounter> decode(std::string_view bytes);
};
template <>
struct Codec<PNCounter> {
  static std::string encode(const PNCounter& v);
  static Result<PNCounter> decode(std::string_view bytes);
};
template <>
struct Codec<BoundedCounter> {
  static std::string encode(const BoundedCounter& v);
  static Result<BoundedCounter> decode(std::string_view bytes);
};

// Any Causal<S> type constructible from (store, context).
template <class V>
struct CausalCodec {
  static std::string encode(const V& v) {
    return codec_detail::encode_causal({StoreIr<typename V::Store>::to(v.store()), v.context()});
  }
  static Result<V> decode(std::string_view bytes) {
    auto ir = codec_detail::decode_causal(bytes);
    if (!ir) return ir.error();
    auto store = StoreIr<typename V::Store>::from(ir.value().store);
    if (!store) return store.error();
    return V(std::move(store).value(), std::move(ir.value().context));
  }
};
template <class T>
struct Codec<MvRegister<T>> : CausalCodec<MvRegister<T>> {};
template <class T>
struct Codec<AwOrSet<T>> : CausalCodec<AwOrSet<T>> {};
template <>
struct Codec<CausalCounter> : CausalCodec<CausalCounter> {};
template <class K, class V>
struct Codec<OrMap<K, V>> : CausalCodec<OrMap<K, V>> {};

template <class T>
struct Codec<LwwRegister<T>> {
  static std::string encode(const LwwRegister<T>& v) {
    codec_detail::StampedScalar s{v.stamp(), std::nullopt};
    if (v.has_value()) s.value = ScalarTraits<T>::to_scalar(v.value());
    return codec_detail::encode_lww(s);
  }
  static Result<LwwRegister<T>> decode(std::string_view bytes) {
    auto s = codec_detail::decode_lww(bytes);
    if (!s) return s.error();
    if (!s.value().value) return LwwRegister<T>{};
    auto v = codec_detail::scalar_as<T>(*s.value().value, "register value");
    if (!v) return v.error();
    return LwwRegister<T>(std::move(v).value(), s.value().stamp);
  }
};

template <class T, class Better>
struct Codec<Extremum<T, Better>> {
  static std::string encode(const Extremum<T, Better>& v) {
    std::optional<Scalar> s;
    if (v.get()) s = ScalarTraits<T>::to_scalar(*v.get());
    return codec_detail::encode_extremum(s);
  }
  static Result<Extremum<T, Better>> decode(std::string_view bytes) {
    auto s = codec_detail::decode_extremum(bytes);
    if (!s) return s.error();
    if (!s.value()) return Extremum<T, Better>{};
    auto v = codec_detail::scalar_as<T>(*s.value(), "value");
    if (!v) return v.error();
    return Extremum<T, Better>(std::move(v).value());
  }
};

template <class T>
struct Codec<FirstClaimWins<T>> {
  static std::string encode(const FirstClaimWins<T>& v) {
    codec_detail::StampedScalar s;
    if (const auto& c = v.winning_claim()) {
      s.stamp = c->at;
      s.value = ScalarTraits<T>::to_scalar(c->claimant);
    }
    return codec_detail::encode_first_claim(s);
  }
  static Result<FirstClaimWins<T>> decode(std::string_view bytes) {
    auto s = codec_detail::decode_first_claim(bytes);
    if (!s) return s.error();
    if (!s.value().value) return FirstClaimWins<T>{};
    auto v = codec_detail::scalar_as<T>(*s.value().value, "claimant");
    if (!v) return v.error();
    return FirstClaimWins<T>(
        typename FirstClaimWins<T>::Claim{s.value().stamp, std::move(v).value()});
  }
};

}  // namespace worldline::crdt
