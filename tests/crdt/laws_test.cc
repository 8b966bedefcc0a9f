// Every CRDT type against the laws of tests/crdt/laws.h: join commutative, associative and
// idempotent; each delta ⊑ the state after its mutation (and s ⊔ d == s'); deltas joined in any
// order with duplicates equal the join of the full states; decode(encode(x)) == x.
#include "tests/crdt/laws.h"

#include "crdt/components.h"

namespace worldline::crdt {
namespace {

std::string small_text() {
  return *rc::gen::element<std::string>("a", "b", "c", "sword", "");
}

struct GCounterModel {
  using Type = GCounter;
  static Type bottom() { return {}; }
  static std::optional<Type> mutate(Type& s, ReplicaId r, HlcClock&) {
    return s.increment(r, *rc::gen::inRange<std::uint64_t>(0, 6));
  }
};

struct PNCounterModel {
  using Type = PNCounter;
  static Type bottom() { return {}; }
  static std::optional<Type> mutate(Type& s, ReplicaId r, HlcClock&) {
    const auto n = *rc::gen::inRange<std::uint64_t>(0, 6);
    return *rc::gen::arbitrary<bool>() ? s.increment(r, n) : s.decrement(r, n);
  }
};

struct LwwIntModel {
  using Type = LwwRegister<std::int64_t>;
  static Type bottom() { return {}; }
  static std::optional<Type> mutate(Type& s, ReplicaId, HlcClock& clock) {
    return s.assign(*rc::gen::inRange<std::int64_t>(-3, 4), clock.now());
  }
};

struct LwwVec3Model {
  using Type = LwwRegister<Vec3>;
  static Type bottom() { return {}; }
  static std::optional<Type> mutate(Type& s, ReplicaId, HlcClock& clock) {
    auto c = [] { return static_cast<double>(*rc::gen::inRange(-4, 5)) / 2; };
    return s.assign(Vec3{c(), c(), c()}, clock.now());
  }
};

struct MvRegisterModel {
  using Type = MvRegister<std::string>;
  static Type bottom() { return {}; }
  static std::optional<Type> mutate(Type& s, ReplicaId r, HlcClock&) {
    if (*rc::gen::inRange(0, 5) == 0) return s.reset();
    return s.assign(r, small_text());
  }
};

struct AwOrSetModel {
  using Type = AwOrSet<std::int64_t>;
  static Type bottom() { return {}; }
  static std::optional<Type> mutate(Type& s, ReplicaId r, HlcClock&) {
    const auto e = *rc::gen::inRange<std::int64_t>(0, 8);
    switch (*rc::gen::inRange(0, 7)) {
      case 0:
        return s.reset();
      case 1:
      case 2:
        return s.remove(e);
      default:
        return s.add(r, e);
    }
  }
};

struct CausalCounterModel {
  using Type = CausalCounter;
  static Type bottom() { return {}; }
  static std::optional<Type> mutate(Type& s, ReplicaId r, HlcClock&) {
    if (*rc::gen::inRange(0, 5) == 0) return s.reset();
    return s.add(r, *rc::gen::inRange<std::int64_t>(-5, 6));
  }
};

struct OrMapOfSetsModel {
  using Type = OrMap<std::string, AwOrSet<std::int64_t>>;
  static Type bottom() { return {}; }
  static std::optional<Type> mutate(Type& s, ReplicaId r, HlcClock& clock) {
    const auto key = small_text();
    if (*rc::gen::inRange(0, 4) == 0) return s.remove(key);
    return s.update(
        key, [&](AwOrSet<std::int64_t>& set) { return *AwOrSetModel::mutate(set, r, clock); });
  }
};

struct InventoryModel {
  using Type = Inventory;
  static Type bottom() { return {}; }
  static std::optional<Type> mutate(Type& s, ReplicaId r, HlcClock& clock) {
    const auto key = small_text();
    if (*rc::gen::inRange(0, 4) == 0) return s.remove(key);
    return s.update(key,
                    [&](CausalCounter& c) { return *CausalCounterModel::mutate(c, r, clock); });
  }
};

struct NestedMapModel {
  using Type = OrMap<std::string, OrMap<std::int64_t, MvRegister<std::string>>>;
  static Type bottom() { return {}; }
  static std::optional<Type> mutate(Type& s, ReplicaId r, HlcClock& clock) {
    const auto key = small_text();
    if (*rc::gen::inRange(0, 5) == 0) return s.remove(key);
    return s.update(key, [&](OrMap<std::int64_t, MvRegister<std::string>>& inner) {
      const auto k = *rc::gen::inRange<std::int64_t>(0, 3);
      if (*rc::gen::inRange(0, 4) == 0) return inner.remove(k);
      return inner.update(
          k, [&](MvRegister<std::string>& reg) { return *MvRegisterModel::mutate(reg, r, clock); });
    });
  }
};

struct BoundedCounterModel {
  using Type = BoundedCounter;
  static Type bottom() { return BoundedCounter(-5); }
  static std::optional<Type> mutate(Type& s, ReplicaId r, HlcClock&) {
    const auto n = *rc::gen::inRange<std::uint64_t>(0, 8);
    switch (*rc::gen::inRange(0, 3)) {
      case 0:
        return s.increment(r, n);
      case 1: {
        auto d = s.decrement(r, n);
        if (!d) return std::nullopt;
        return std::move(d).value();
      }
      default: {
        auto d = s.transfer(r, static_cast<ReplicaId>(*rc::gen::inRange(1, 4)), n);
        if (!d) return std::nullopt;
        return std::move(d).value();
      }
    }
  }
};

template <class E>
struct ExtremumModel {
  using Type = E;
  static Type bottom() { return {}; }
  static std::optional<Type> mutate(Type& s, ReplicaId, HlcClock&) {
    return s.set(*rc::gen::inRange<std::int64_t>(-10, 10));
  }
};

struct AuthorityModel {
  using Type = EntityAuthority;
  static Type bottom() { return {}; }
  static std::optional<Type> mutate(Type& s, ReplicaId r, HlcClock&) {
    return s.set(Authority{*rc::gen::inRange<std::uint64_t>(0, 4), r});
  }
};

struct FirstClaimModel {
  using Type = FirstClaimWins<std::uint64_t>;
  static Type bottom() { return {}; }
  static std::optional<Type> mutate(Type& s, ReplicaId r, HlcClock& clock) {
    auto d = s.claim(r * 100 + *rc::gen::inRange<std::uint64_t>(0, 3), clock.now());
    if (!d) return std::nullopt;
    return std::move(d).value();
  }
};

WORLDLINE_CRDT_LAWS(GCounter, GCounterModel)
WORLDLINE_CRDT_LAWS(PNCounter, PNCounterModel)
WORLDLINE_CRDT_LAWS(LwwRegisterInt, LwwIntModel)
WORLDLINE_CRDT_LAWS(LwwRegisterVec3, LwwVec3Model)
WORLDLINE_CRDT_LAWS(MvRegister, MvRegisterModel)
WORLDLINE_CRDT_LAWS(AwOrSet, AwOrSetModel)
WORLDLINE_CRDT_LAWS(CausalCounter, CausalCounterModel)
WORLDLINE_CRDT_LAWS(OrMapOfSets, OrMapOfSetsModel)
WORLDLINE_CRDT_LAWS(Inventory, InventoryModel)
WORLDLINE_CRDT_LAWS(NestedOrMap, NestedMapModel)
WORLDLINE_CRDT_LAWS(BoundedCounter, BoundedCounterModel)
WORLDLINE_CRDT_LAWS(MaxWins, ExtremumModel<MaxWins<std::int64_t>>)
WORLDLINE_CRDT_LAWS(MinWins, ExtremumModel<MinWins<std::int64_t>>)
WORLDLINE_CRDT_LAWS(Authority, AuthorityModel)
WORLDLINE_CRDT_LAWS(FirstClaimWins, FirstClaimModel)

}  // namespace
}  // namespace worldline::crdt
