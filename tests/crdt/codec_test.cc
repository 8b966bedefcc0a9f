// Decoding refuses every malformed input with a reason and never crashes. Invalid messages are
// built with the schema's own builders so each test names exactly the broken invariant.
#include "crdt/codec.h"

#include <capnp/message.h>
#include <capnp/serialize-packed.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <kj/io.h>

#include <cmath>
#include <limits>

#include "crdt/components.h"
#include "schemas/crdt.capnp.h"

namespace worldline::crdt {
namespace {

namespace s = ::worldline::schema;

std::string packed(capnp::MallocMessageBuilder& m) {
  kj::VectorOutputStream out;
  capnp::writePackedMessage(out, m);
  auto a = out.getArray();
  return std::string(reinterpret_cast<const char*>(a.begin()), a.size());
}

template <class T>
void expect_error(const Result<T>& r, ErrorCode code, const std::string& message) {
  ASSERT_FALSE(r.ok()) << "decoded: " << r.value().to_string();
  EXPECT_EQ(r.error().code, code) << r.error().to_string();
  EXPECT_EQ(r.error().message, message);
}

template <class T>
void expect_every_truncation_refused(const T& value) {
  const std::string bytes = encode(value);
  ASSERT_TRUE(decode<T>(bytes).ok());
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    auto r = decode<T>(std::string_view(bytes).substr(0, n));
    ASSERT_FALSE(r.ok()) << "prefix of " << n << "/" << bytes.size() << " bytes decoded";
    EXPECT_EQ(r.error().code, ErrorCode::kDecode);
    EXPECT_FALSE(r.error().message.empty());
  }
}

TEST(Codec, EveryTruncationOfEveryTypeIsRefused) {
  GCounter g;
  g.increment(1, 300);
  expect_every_truncation_refused(g);
  PNCounter pn;
  pn.decrement(2, 5);
  expect_every_truncation_refused(pn);
  BoundedCounter b(0);
  b.increment(1, 9);
  expect_every_truncation_refused(b);
  expect_every_truncation_refused(Position(Vec3{1, 2, 3}, Hlc{4, 5, 6}));
  MvRegister<std::string> mv;
  mv.assign(1, "x");
  expect_every_truncation_refused(mv);
  AwOrSet<std::int64_t> set;
  set.add(1, 77);
  expect_every_truncation_refused(set);
  Inventory inv;
  inv.update("gem", [](CausalCounter& c) { return c.add(1, 1); });
  expect_every_truncation_refused(inv);
  expect_every_truncation_refused(MaxWins<std::int64_t>(5));
  FirstClaimWins<std::uint64_t> claim;
  (void)claim.claim(1, Hlc{1, 0, 1});
  expect_every_truncation_refused(claim);
}

TEST(Codec, GarbageIsRefused) {
  auto r = decode<GCounter>("this is not a capnp message");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kDecode);
  EXPECT_EQ(r.error().message.rfind("gcounter: ", 0), 0u) << r.error().message;
  expect_error(decode<AwOrSet<std::int64_t>>(""), ErrorCode::kDecode, "causal crdt: empty input");
}

TEST(Codec, TrailingBytesAreRefused) {
  GCounter g;
  g.increment(1, 1);
  // Two bytes of packed encoding: one more all-zero word after the message.
  auto r = decode<GCounter>(encode(g) + std::string(2, '\0'));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kDecode);
  EXPECT_THAT(r.error().message, ::testing::HasSubstr("trailing bytes after the message"));
}

TEST(Codec, OversizedClaimsAreRefused) {
  // Each 0x00 tag with count 0xff claims 256 zero words: 2 bytes per 2 KiB, far past the limit.
  std::string bomb;
  for (int i = 0; i < 40000; ++i)
    bomb += std::string("\0\xff", 2);
  auto r = decode<GCounter>(bomb);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kDecode);
  EXPECT_THAT(r.error().message, ::testing::HasSubstr("exceeds the size limit"));
  EXPECT_THAT(r.error().message, ::testing::HasSubstr("10240000"));
}

TEST(Codec, EmptyStatesRoundTrip) {
  EXPECT_EQ(decode<GCounter>(encode(GCounter{})).value(), GCounter{});
  EXPECT_EQ(decode<Inventory>(encode(Inventory{})).value(), Inventory{});
  EXPECT_EQ(decode<Position>(encode(Position{})).value(), Position{});
  EXPECT_EQ(decode<HighScore>(encode(HighScore{})).value(), HighScore{});
  EXPECT_EQ(decode<UniqueItemOwner>(encode(UniqueItemOwner{})).value(), UniqueItemOwner{});
  EXPECT_EQ(decode<Gold>(encode(Gold{7})).value(), Gold{7});
}

TEST(Codec, WrongScalarKindIsRefused) {
  const std::string bytes = encode(LwwRegister<std::int64_t>(5, Hlc{1, 0, 1}));
  expect_error(decode<LwwRegister<std::string>>(bytes), ErrorCode::kInvalidState,
               "register value: expected text, found int64");
  expect_error(decode<MaxWins<Authority>>(encode(MaxWins<std::int64_t>(3))),
               ErrorCode::kInvalidState, "value: expected authority, found int64");
  expect_error(decode<FirstClaimWins<std::string>>(
                   encode(UniqueItemOwner(UniqueItemOwner::Claim{Hlc{1, 0, 1}, 9}))),
               ErrorCode::kInvalidState, "claimant: expected text, found uint64");
  AwOrSet<std::int64_t> set;
  set.add(1, 4);
  expect_error(decode<AwOrSet<bool>>(encode(set)), ErrorCode::kInvalidState,
               "map key: expected bool, found int64");
  MvRegister<double> mv;
  mv.assign(1, 2.5);
  expect_error(decode<MvRegister<std::int64_t>>(encode(mv)), ErrorCode::kInvalidState,
               "register value: expected int64, found float64");
}

TEST(Codec, WrongStoreKindIsRefused) {
  AwOrSet<std::int64_t> set;
  set.add(1, 4);
  expect_error(decode<MvRegister<std::int64_t>>(encode(set)), ErrorCode::kInvalidState,
               "dot store: expected dotFun, found another store kind");
  MvRegister<std::int64_t> mv;
  mv.assign(1, 4);
  expect_error(decode<AwOrSet<std::int64_t>>(encode(mv)), ErrorCode::kInvalidState,
               "dot store: expected dotMap, found another store kind");
  Inventory inv;
  inv.update("a", [](CausalCounter& c) { return c.add(1, 1); });
  expect_error(decode<OrMap<std::string, AwOrSet<std::int64_t>>>(encode(inv)),
               ErrorCode::kInvalidState, "dot store: expected dotMap, found another store kind");
  OrMap<std::string, AwOrSet<std::int64_t>> sets;
  sets.update("a", [](auto& s) { return s.add(1, 1); });
  expect_error(decode<Inventory>(encode(sets)), ErrorCode::kInvalidState,
               "dot store: expected dotFun, found another store kind");
  expect_error(decode<AwOrSet<std::string>>(encode(sets)), ErrorCode::kInvalidState,
               "dot store: expected dotSet, found another store kind");
}

TEST(Codec, NonFiniteFloatsAreRefused) {
  expect_error(decode<LwwRegister<double>>(encode(
                   LwwRegister<double>(std::numeric_limits<double>::quiet_NaN(), Hlc{1, 0, 1}))),
               ErrorCode::kInvalidState, "non-finite float64 value");
  expect_error(decode<Position>(encode(
                   Position(Vec3{0, std::numeric_limits<double>::infinity(), 0}, Hlc{1, 0, 1}))),
               ErrorCode::kInvalidState, "non-finite vec3 component");
}

// Builds a Causal message with the given dot set under key 1 and context.
std::string causal_set(std::vector<Dot> dots, std::vector<std::pair<ReplicaId, std::uint64_t>> vv,
                       std::int64_t key = 1) {
  capnp::MallocMessageBuilder m;
  auto root = m.initRoot<s::Causal>();
  auto entries = root.initStore().initDotMap(1);
  entries[0].initKey().setInt64(key);
  auto list = entries[0].initValue().initDotSet(dots.size());
  for (unsigned i = 0; i < dots.size(); ++i) {
    list[i].setReplica(dots[i].replica);
    list[i].setCounter(dots[i].counter);
  }
  auto versions = root.initContext().initVersions(vv.size());
  for (unsigned i = 0; i < vv.size(); ++i) {
    versions[i].setReplica(vv[i].first);
    versions[i].setCount(vv[i].second);
  }
  return packed(m);
}

TEST(Codec, CausalInvariantsAreChecked) {
  using Set = AwOrSet<std::int64_t>;
  ASSERT_TRUE(decode<Set>(causal_set({{1, 2}}, {{1, 3}})).ok());
  expect_error(decode<Set>(causal_set({{1, 5}}, {{1, 3}})), ErrorCode::kInvalidState,
               "dot store: dot (1:5) outside context");
  expect_error(decode<Set>(causal_set({{1, 2}, {1, 2}}, {{1, 3}})), ErrorCode::kInvalidState,
               "dot store: dot (1:2) twice");
  expect_error(decode<Set>(causal_set({{1, 0}}, {{1, 3}})), ErrorCode::kInvalidState,
               "dot store: dot with counter 0");
  expect_error(decode<Set>(causal_set({}, {{1, 3}})), ErrorCode::kInvalidState,
               "map entry 1 holds an empty value");
  expect_error(decode<Set>(causal_set({{1, 1}}, {{1, 3}, {1, 4}})), ErrorCode::kInvalidState,
               "causal context versions: duplicate replica 1");
  expect_error(decode<Set>(causal_set({{1, 1}}, {{1, 0}})), ErrorCode::kInvalidState,
               "causal context versions: count 0 out of range for replica 1");
  expect_error(decode<Set>(causal_set({{1, 1}}, {{1, std::uint64_t{1} << 63}})),
               ErrorCode::kInvalidState,
               "causal context versions: count 9223372036854775808 out of range for replica 1");
}

TEST(Codec, CompactSingleDotEntriesAreValidated) {
  using Set = AwOrSet<std::int64_t>;
  // An OR-set element with one dot is written in the compact form, and reads back the same.
  Set set;
  set.add(1, 5);
  set.add(2, 6);
  EXPECT_EQ(decode<Set>(encode(set)).value(), set);
  auto build = [](std::vector<std::pair<std::int64_t, Dot>> inline_dots, bool also_value) {
    capnp::MallocMessageBuilder m;
    auto root = m.initRoot<s::Causal>();
    auto entries = root.initStore().initDotMap(inline_dots.size());
    for (unsigned i = 0; i < inline_dots.size(); ++i) {
      entries[i].initKey().setInt64(inline_dots[i].first);
      entries[i].setDotReplica(inline_dots[i].second.replica);
      entries[i].setDotCounter(inline_dots[i].second.counter);
      if (also_value) entries[i].initValue().initDotSet(0);
    }
    auto vv = root.initContext().initVersions(1);
    vv[0].setReplica(1);
    vv[0].setCount(3);
    return packed(m);
  };
  auto ok = decode<Set>(build({{1, {1, 2}}, {2, {1, 3}}}, false));
  ASSERT_TRUE(ok.ok()) << ok.error().to_string();
  EXPECT_EQ(ok.value().elements(), (std::vector<std::int64_t>{1, 2}));
  expect_error(decode<Set>(build({{1, {1, 2}}}, true)), ErrorCode::kInvalidState,
               "dot map entry: both an inline dot and a value");
  expect_error(decode<Set>(build({{1, {1, 7}}}, false)), ErrorCode::kInvalidState,
               "dot store: dot (1:7) outside context");
  expect_error(decode<Set>(build({{1, {1, 2}}, {2, {1, 2}}}, false)), ErrorCode::kInvalidState,
               "dot store: dot (1:2) twice");
}

TEST(Codec, CloudDotsAreValidatedAndCompacted) {
  capnp::MallocMessageBuilder m;
  auto root = m.initRoot<s::Causal>();
  root.initStore().initDotSet(0);
  auto cloud = root.initContext().initCloud(2);
  cloud[0].setReplica(3);
  cloud[0].setCounter(1);
  cloud[1].setReplica(3);
  cloud[1].setCounter(0);
  auto bad = decode<AwOrSet<std::int64_t>>(packed(m));
  expect_error(bad, ErrorCode::kInvalidState, "causal context: dot counter 0 out of range");
  cloud[1].setCounter(2);
  capnp::MallocMessageBuilder m2;
  auto r2 = m2.initRoot<s::Causal>();
  r2.initStore().initDotFun(0);
  auto c2 = r2.initContext().initCloud(2);
  c2[0].setReplica(3);
  c2[0].setCounter(2);
  c2[1].setReplica(3);
  c2[1].setCounter(1);
  auto ok = decode<MvRegister<std::int64_t>>(packed(m2));
  ASSERT_TRUE(ok.ok()) << ok.error().to_string();
  EXPECT_EQ(ok.value().context().to_string(), "{vv:[3:2] cloud:[]}");
}

TEST(Codec, DuplicateMapKeysAreRefused) {
  capnp::MallocMessageBuilder m;
  auto root = m.initRoot<s::Causal>();
  auto entries = root.initStore().initDotMap(2);
  for (unsigned i = 0; i < 2; ++i) {
    entries[i].initKey().setText("potion");
    auto f = entries[i].initValue().initDotFun(1);
    f[0].initDot().setReplica(1);
    f[0].getDot().setCounter(i + 1);
    f[0].initValue().setInt64(1);
  }
  auto vv = root.initContext().initVersions(1);
  vv[0].setReplica(1);
  vv[0].setCount(2);
  expect_error(decode<Inventory>(packed(m)), ErrorCode::kInvalidState,
               "duplicate map key \"potion\"");
}

TEST(Codec, CounterInvariantsAreChecked) {
  capnp::MallocMessageBuilder m;
  auto e = m.initRoot<s::GCounter>().initEntries(2);
  e[0].setReplica(1);
  e[0].setCount(3);
  e[1].setReplica(1);
  e[1].setCount(4);
  expect_error(decode<GCounter>(packed(m)), ErrorCode::kInvalidState,
               "gcounter: duplicate replica 1");
  e[1].setReplica(2);
  e[1].setCount(0);
  expect_error(decode<GCounter>(packed(m)), ErrorCode::kInvalidState,
               "gcounter: count 0 out of range for replica 2");

  capnp::MallocMessageBuilder pn;
  auto neg = pn.initRoot<s::PNCounter>().initNegative().initEntries(1);
  neg[0].setReplica(5);
  neg[0].setCount(0);
  expect_error(decode<PNCounter>(packed(pn)), ErrorCode::kInvalidState,
               "pncounter negative: count 0 out of range for replica 5");
  capnp::MallocMessageBuilder pp;
  auto pos = pp.initRoot<s::PNCounter>().initPositive().initEntries(1);
  pos[0].setReplica(5);
  pos[0].setCount(0);
  expect_error(decode<PNCounter>(packed(pp)), ErrorCode::kInvalidState,
               "pncounter positive: count 0 out of range for replica 5");
}

TEST(Codec, BoundedCounterTransfersAreChecked) {
  auto build = [](std::vector<std::tuple<ReplicaId, ReplicaId, std::uint64_t>> transfers) {
    capnp::MallocMessageBuilder m;
    auto root = m.initRoot<s::BoundedCounter>();
    auto t = root.initTransfers(transfers.size());
    for (unsigned i = 0; i < transfers.size(); ++i) {
      t[i].setFrom(std::get<0>(transfers[i]));
      t[i].setTo(std::get<1>(transfers[i]));
      t[i].setAmount(std::get<2>(transfers[i]));
    }
    return packed(m);
  };
  expect_error(decode<BoundedCounter>(build({{1, 1, 5}})), ErrorCode::kInvalidState,
               "bounded counter: zero, oversized or self transfer");
  expect_error(decode<BoundedCounter>(build({{1, 2, 0}})), ErrorCode::kInvalidState,
               "bounded counter: zero, oversized or self transfer");
  expect_error(decode<BoundedCounter>(build({{1, 2, 5}, {1, 2, 6}})), ErrorCode::kInvalidState,
               "bounded counter: duplicate transfer");
  auto delta = decode<BoundedCounter>(build({{1, 2, 5}}));
  ASSERT_TRUE(delta.ok());
  EXPECT_FALSE(delta.value().well_formed());  // a bare transfer: the replica checks after join

  capnp::MallocMessageBuilder m;
  auto inc = m.initRoot<s::BoundedCounter>().initIncrements(1);
  inc[0].setReplica(1);
  inc[0].setCount(0);
  expect_error(decode<BoundedCounter>(packed(m)), ErrorCode::kInvalidState,
               "bounded counter increments: count 0 out of range for replica 1");
  capnp::MallocMessageBuilder m2;
  auto dec = m2.initRoot<s::BoundedCounter>().initDecrements(1);
  dec[0].setReplica(1);
  dec[0].setCount(0);
  expect_error(decode<BoundedCounter>(packed(m2)), ErrorCode::kInvalidState,
               "bounded counter decrements: count 0 out of range for replica 1");
}

TEST(Codec, StampWithoutValueIsRefused) {
  capnp::MallocMessageBuilder m;
  auto stamp = m.initRoot<s::LwwRegister>().initStamp();
  stamp.setPhysicalMs(5);
  expect_error(decode<Position>(packed(m)), ErrorCode::kInvalidState,
               "lww register: stamp without a value");
  capnp::MallocMessageBuilder m2;
  m2.initRoot<s::FirstClaim>().initAt().setLogical(1);
  expect_error(decode<UniqueItemOwner>(packed(m2)), ErrorCode::kInvalidState,
               "first claim: stamp without a claimant");
}

TEST(Codec, InvalidScalarsInsideStructuresAreRefused) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  expect_error(decode<MaxWins<double>>(encode(MaxWins<double>(nan))), ErrorCode::kInvalidState,
               "non-finite float64 value");
  expect_error(decode<FirstClaimWins<double>>(encode(
                   FirstClaimWins<double>(FirstClaimWins<double>::Claim{Hlc{1, 0, 1}, nan}))),
               ErrorCode::kInvalidState, "non-finite float64 value");
  MvRegister<double> mv;
  mv.assign(1, nan);
  expect_error(decode<MvRegister<double>>(encode(mv)), ErrorCode::kInvalidState,
               "non-finite float64 value");
  AwOrSet<double> set;
  set.add(1, nan);
  expect_error(decode<AwOrSet<double>>(encode(set)), ErrorCode::kInvalidState,
               "non-finite float64 value");
}

TEST(Codec, EveryScalarKindRoundTrips) {
  const std::vector<Scalar> all{Scalar{std::int64_t{-3}},
                                Scalar{std::uint64_t{3}},
                                Scalar{2.5},
                                Scalar{true},
                                Scalar{std::string("é")},
                                Scalar{Vec3{1, 2, 3}},
                                Scalar{Authority{4, 5}}};
  const std::vector<std::string> shown{
      "-3", "3u", "2.5", "true", "\"é\"", "(1,2,3)", "epoch 4/region 5"};
  const std::vector<std::string> kinds{"int64", "uint64", "float64",  "bool",
                                       "text",  "vec3",   "authority"};
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(to_string(all[i]), shown[i]);
    EXPECT_EQ(scalar_kind(all[i]), kinds[i]);
  }
  EXPECT_EQ(decode<MaxWins<bool>>(encode(MaxWins<bool>(true))).value(), MaxWins<bool>(true));
  EXPECT_EQ(decode<MaxWins<std::string>>(encode(MaxWins<std::string>("z"))).value(),
            MaxWins<std::string>("z"));
  EXPECT_EQ(decode<MinWins<std::uint64_t>>(encode(MinWins<std::uint64_t>(9))).value(),
            MinWins<std::uint64_t>(9));
  EXPECT_EQ(decode<EntityAuthority>(encode(EntityAuthority(Authority{2, 3}))).value(),
            EntityAuthority(Authority{2, 3}));
}

TEST(Result, ErrorCodesHaveStableNames) {
  EXPECT_STREQ(to_string(ErrorCode::kInsufficientRights), "insufficient_rights");
  EXPECT_STREQ(to_string(ErrorCode::kAlreadyClaimed), "already_claimed");
  EXPECT_STREQ(to_string(ErrorCode::kClockSkew), "clock_skew");
  EXPECT_STREQ(to_string(ErrorCode::kInvalidArgument), "invalid_argument");
  EXPECT_STREQ(to_string(ErrorCode::kDecode), "decode");
  EXPECT_STREQ(to_string(ErrorCode::kInvalidState), "invalid_state");
  EXPECT_STREQ(to_string(static_cast<ErrorCode>(99)), "unknown");
  EXPECT_EQ((Error{ErrorCode::kDecode, "x"}).to_string(), "decode: x");
}

}  // namespace
}  // namespace worldline::crdt
