// The CRDT decoders' fuzz cases (crdt_decode_cases.h), compiled once for every fuzz_decode_*
// target. Any input may be refused, but never with a crash or an empty reason; any input accepted
// must survive encode → decode unchanged and join with itself unchanged (the validator let
// nothing through that breaks the type's invariants).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "crdt/codec.h"
#include "crdt/components.h"
#include "tests/fuzz/crdt_decode_cases.h"

namespace worldline::crdt::fuzz {
namespace {

using LwwInt = LwwRegister<std::int64_t>;
using LwwVec3 = LwwRegister<Vec3>;
using MvText = MvRegister<std::string>;
using AwOrSetInt = AwOrSet<std::int64_t>;
using NestedMap = OrMap<std::string, OrMap<std::int64_t, MvRegister<std::string>>>;
using MaxWinsInt = MaxWins<std::int64_t>;
using MinWinsInt = MinWins<std::int64_t>;
using FirstClaim = FirstClaimWins<std::uint64_t>;
// A few valid values of each type, for the standalone driver to mutate.
std::vector<GCounter> samples(GCounter*) {
  GCounter a;
  a.increment(1, 5);
  a.increment(7, 1u << 20);
  return {GCounter{}, a};
}
std::vector<PNCounter> samples(PNCounter*) {
  PNCounter a;
  a.increment(1, 3);
  a.decrement(2, 9);
  return {PNCounter{}, a};
}
std::vector<BoundedCounter> samples(BoundedCounter*) {
  BoundedCounter a(0);
  a.increment(1, 100);
  (void)a.transfer(1, 2, 40);
  (void)a.decrement(1, 10);
  return {BoundedCounter(5), a};
}
std::vector<LwwInt> samples(LwwInt*) {
  return {LwwInt{}, LwwInt(-42, Hlc{1000, 3, 2})};
}
std::vector<LwwVec3> samples(LwwVec3*) {
  return {LwwVec3{}, LwwVec3(Vec3{1.5, -2, 1e9}, Hlc{7, 0, 1})};
}
std::vector<MvText> samples(MvText*) {
  MvText a, b;
  a.assign(1, "left");
  b.assign(2, "right");
  return {MvText{}, a, join(a, b)};
}
std::vector<AwOrSetInt> samples(AwOrSetInt*) {
  AwOrSetInt a, b;
  for (int i = 0; i < 5; ++i)
    a.add(1, i);
  a.remove(2);
  b.add(2, 2);
  return {AwOrSetInt{}, a, join(a, b), a.remove(3)};
}
std::vector<CausalCounter> samples(CausalCounter*) {
  CausalCounter a;
  a.add(1, 5);
  a.add(2, -3);
  return {CausalCounter{}, a};
}
std::vector<Inventory> samples(Inventory*) {
  Inventory a;
  a.update("potion", [](CausalCounter& c) { return c.add(1, 3); });
  a.update("arrow", [](CausalCounter& c) { return c.add(2, 50); });
  return {Inventory{}, a, a.remove("potion")};
}
std::vector<NestedMap> samples(NestedMap*) {
  NestedMap a;
  a.update("quests", [](auto& inner) {
    return inner.update(7, [](MvText& r) { return r.assign(1, "started"); });
  });
  return {NestedMap{}, a};
}
std::vector<MaxWinsInt> samples(MaxWinsInt*) {
  return {MaxWinsInt{}, MaxWinsInt(99)};
}
std::vector<MinWinsInt> samples(MinWinsInt*) {
  return {MinWinsInt{}, MinWinsInt(-7)};
}
std::vector<EntityAuthority> samples(EntityAuthority*) {
  return {EntityAuthority{}, EntityAuthority(Authority{3, 2})};
}
std::vector<FirstClaim> samples(FirstClaim*) {
  FirstClaim a;
  (void)a.claim(1001, Hlc{5000, 1, 3});
  return {FirstClaim{}, a};
}

template <typename T>
[[noreturn]] void fail(const char* what, const T& v) {
  std::fprintf(stderr, "fuzz invariant broken: %s\n  value: %s\n", what, v.to_string().c_str());
  std::abort();
}

template <typename T>
std::vector<std::string> seeds_of() {
  std::vector<std::string> out;
  for (const auto& v : samples(static_cast<T*>(nullptr)))
    out.push_back(encode(v));
  return out;
}

template <typename T>
void decode_as(std::string_view input) {
  auto r = decode<T>(input);
  if (!r) {
    if (r.error().message.empty()) std::abort();
    return;
  }
  const T& v = r.value();
  auto again = decode<T>(encode(v));
  if (!again) fail(("re-decode failed: " + again.error().to_string()).c_str(), v);
  if (!(again.value() == v)) fail("decode(encode(x)) != x", v);
  if (!(join(v, v) == v)) fail("x ⊔ x != x", v);
}

// Calls f with a null pointer of the case's type.
template <typename F>
auto visit(DecodeCase c, F&& f) {
  switch (c) {
#define WORLDLINE_CASE(name) \
  case DecodeCase::k##name:  \
    return f(static_cast<name*>(nullptr));
    WORLDLINE_CASE(GCounter)
    WORLDLINE_CASE(PNCounter)
    WORLDLINE_CASE(BoundedCounter)
    WORLDLINE_CASE(LwwInt)
    WORLDLINE_CASE(LwwVec3)
    WORLDLINE_CASE(MvText)
    WORLDLINE_CASE(AwOrSetInt)
    WORLDLINE_CASE(CausalCounter)
    WORLDLINE_CASE(Inventory)
    WORLDLINE_CASE(NestedMap)
    WORLDLINE_CASE(MaxWinsInt)
    WORLDLINE_CASE(MinWinsInt)
    WORLDLINE_CASE(EntityAuthority)
    WORLDLINE_CASE(FirstClaim)
#undef WORLDLINE_CASE
  }
  std::fprintf(stderr, "unknown decode case %d\n", static_cast<int>(c));
  std::abort();
}

}  // namespace

std::vector<std::string> decode_seeds(DecodeCase c) {
  return visit(c, []<typename T>(T*) { return seeds_of<T>(); });
}

void decode_one(DecodeCase c, const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  visit(c, [&]<typename T>(T*) { decode_as<T>(input); });
}

}  // namespace worldline::crdt::fuzz
