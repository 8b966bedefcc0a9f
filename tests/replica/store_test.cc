// Store: values boxed and compared by value, validation of what peers send (wrong kind, unknown
// component, bad bounds, negative rights), no trace of refused writes, and the index of the
// entities holding an indexed component (Store::entities_with), kept by every path that stores a
// key.
#include "replica/store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <set>

#include "crdt/codec.h"

namespace worldline::replica {
namespace {

using ::testing::HasSubstr;

std::optional<ComponentValue> add_member(ComponentValue& v, crdt::ReplicaId r, std::uint64_t id) {
  return value_as<crdt::GuildMembers>(v).add(r, id);
}

TEST(ComponentValue, BoxedKindsCopyDeeplyCompareByValueAndStaySmall) {
  static_assert(sizeof(ComponentValue) <= 128, "a store slot is a key and one of these");
  ComponentValue a = crdt::GuildMembers{};
  (void)add_member(a, 1, 7);
  ComponentValue b = a;  // a deep copy: changing it leaves `a` as it was
  (void)add_member(b, 1, 8);
  EXPECT_EQ(value_as<crdt::GuildMembers>(a).size(), 1u);
  EXPECT_EQ(value_as<crdt::GuildMembers>(b).size(), 2u);
  EXPECT_FALSE(a == b);
  (void)add_member(a, 1, 8);
  EXPECT_TRUE(a == b);  // the same element under the same dot: equal values in two boxes
  (void)add_member(a, 2, 9);
  EXPECT_FALSE(a == b);
  ComponentValue c = b;
  EXPECT_TRUE(b == c);  // equal by value, not by address
  EXPECT_NE(&value_as<crdt::GuildMembers>(b), &value_as<crdt::GuildMembers>(c));
  ComponentValue moved = std::move(c);
  c = a;  // a moved-from value can be assigned to
  EXPECT_TRUE(c == a);
  EXPECT_TRUE(moved == b);
  EXPECT_EQ(value_if<crdt::Gold>(&a), nullptr);
  EXPECT_EQ(value_if<crdt::GuildMembers>(&a), &value_as<crdt::GuildMembers>(a));
  EXPECT_THROW((void)value_as<crdt::Gold>(a), std::bad_variant_access);
  // The codec sees the CRDT, not the box: the bytes decode to an equal value.
  auto decoded = decode_value(ComponentRegistry::game_defaults(), 8, encode_value(a));
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_TRUE(decoded.value() == a);
}

TEST(Store, RefusesValuesOfTheWrongKindUnknownComponentsAndBadBounds) {
  const auto reg = ComponentRegistry::game_defaults();
  Store store(reg);
  crdt::Kills kills;
  kills.increment(1, 3);
  // Kills bytes arriving as a position (component 1).
  auto wrong = store.join_remote(Key{1, 1}, crdt::encode(kills));
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, crdt::ErrorCode::kDecode);
  EXPECT_THAT(wrong.error().message, HasSubstr("position: lww register: "));
  auto unknown = store.join_remote(Key{1, 999}, crdt::encode(kills));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().message, "unknown component id 999");
  auto bad_bound = store.join_remote(Key{1, 4}, crdt::encode(crdt::Gold(-5)));
  ASSERT_FALSE(bad_bound.ok());
  EXPECT_EQ(bad_bound.error().message, "gold: bound -5 differs from the configured 0");
  // A transfer nobody holds rights for: joining it would make rights negative.
  auto forged = crdt::Gold(0, {}, {}, {{{7, 8}, 1000}});
  auto negative = store.join_remote(Key{1, 4}, crdt::encode(forged));
  ASSERT_FALSE(negative.ok());
  EXPECT_THAT(negative.error().message, HasSubstr("joining gives negative rights"));
  EXPECT_EQ(store.rejected(), 4u);
  EXPECT_EQ(store.rejected_by_reason().at("decode"), 1u);
  EXPECT_EQ(store.rejected_by_reason().at("invalid_state"), 2u);
  EXPECT_EQ(store.rejected_by_reason().at("invalid_argument"), 1u);
  EXPECT_TRUE(store.entries().empty());  // nothing refused left a trace
  // And a good one joins.
  auto ok = store.join_remote(Key{1, 12}, crdt::encode(kills));
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok.value());
  auto again = store.join_remote(Key{1, 12}, crdt::encode(kills));
  EXPECT_FALSE(again.value());  // nothing new
}

TEST(Store, ARefusedFirstWriteLeavesNoEntry) {
  const auto reg = ComponentRegistry::game_defaults();
  Store store(reg);
  auto r = store.mutate(Key{5, 4}, [](ComponentValue& v) -> std::optional<ComponentValue> {
    auto d = value_as<crdt::Gold>(v).decrement(1, 10);
    if (!d) return std::nullopt;
    return std::move(d).value();
  });
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.value().has_value());
  EXPECT_EQ(store.get(Key{5, 4}), nullptr);
  auto unknown = store.mutate(Key{5, 77}, [](ComponentValue&) { return std::nullopt; });
  ASSERT_FALSE(unknown.ok());
}

constexpr ComponentId kFlags = 16;  // indexed in the game defaults
constexpr ComponentId kBuffs = 7;   // the same kind, not indexed

std::optional<ComponentValue> add_line(ComponentValue& v, const std::string& line) {
  return value_as<crdt::Buffs>(v).add(1, line);
}

// Every way a key comes to be stored puts its entity in the index; a refused or empty first
// write does not; a component the registry does not mark has no index.
TEST(StoreIndex, EveryPathThatStoresANewKeyIndexesItsEntityAndNothingElseDoes) {
  const auto reg = ComponentRegistry::game_defaults();
  Store store(reg);
  ASSERT_NE(store.entities_with(kFlags), nullptr);
  ASSERT_NE(store.entities_with(17), nullptr);
  EXPECT_EQ(store.entities_with(kBuffs), nullptr);
  EXPECT_EQ(store.entities_with(1), nullptr);
  EXPECT_TRUE(store.entities_with(kFlags)->empty());

  // A local write.
  ASSERT_TRUE(store.mutate(Key{30, kFlags}, [](ComponentValue& v) { return add_line(v, "a"); }));
  // A refused first write and one that changes nothing leave no entry, so no index either.
  ASSERT_TRUE(store.mutate(Key{31, kFlags}, [](ComponentValue&) { return std::nullopt; }));
  ASSERT_TRUE(store.mutate(Key{32, kFlags}, [](ComponentValue& v) -> std::optional<ComponentValue> {
    return v;  // bottom: nothing changed
  }));
  // A peer's value.
  crdt::Buffs remote;
  (void)remote.add(2, "b");
  ASSERT_TRUE(store.join_remote(Key{10, kFlags}, crdt::encode(remote)).ok());
  // The journal's.
  crdt::Buffs journaled;
  (void)journaled.add(3, "c");
  store.join_local(Key{20, kFlags}, ComponentValue(journaled));
  store.join_local(Key{21, kFlags}, ComponentValue(crdt::Buffs{}));  // bottom: stored as absent
  // Other components and refused remote bytes touch no index.
  ASSERT_TRUE(store.mutate(Key{40, kBuffs}, [](ComponentValue& v) { return add_line(v, "x"); }));
  EXPECT_FALSE(store.join_remote(Key{50, kFlags}, "garbage").ok());

  EXPECT_EQ(*store.entities_with(kFlags), (std::set<EntityId>{10, 20, 30}));
  EXPECT_TRUE(store.entities_with(17)->empty());
  // A second write to an indexed key changes nothing in the index.
  ASSERT_TRUE(store.mutate(Key{30, kFlags}, [](ComponentValue& v) { return add_line(v, "d"); }));
  ASSERT_TRUE(store.join_remote(Key{10, kFlags}, crdt::encode(journaled)).ok());
  EXPECT_EQ(*store.entities_with(kFlags), (std::set<EntityId>{10, 20, 30}));
}

// The law: after any sequence of writes through the store's three ways in, the index holds
// exactly the entities whose key is stored.
RC_GTEST_PROP(StoreIndex, TheIndexEqualsTheEntitiesStoredUnderTheComponent, ()) {
  const auto reg = ComponentRegistry::game_defaults();
  Store store(reg);
  const auto ops = *rc::gen::container<std::vector<std::tuple<int, EntityId, ComponentId, bool>>>(
      rc::gen::tuple(rc::gen::inRange(0, 3), rc::gen::inRange<EntityId>(1, 20),
                     rc::gen::elementOf(std::vector<ComponentId>{kFlags, 17, kBuffs}),
                     rc::gen::arbitrary<bool>()));
  for (const auto& [path, entity, component, empty] : ops) {
    crdt::Buffs value;
    if (!empty) (void)value.add(static_cast<crdt::ReplicaId>(entity), "line");
    const Key key{entity, component};
    if (path == 0) {
      RC_ASSERT(store
                    .mutate(key,
                            [&](ComponentValue& v) -> std::optional<ComponentValue> {
                              if (empty) return std::nullopt;
                              return add_line(v, "line");
                            })
                    .ok());
    } else if (path == 1) {
      RC_ASSERT(store.join_remote(key, crdt::encode(value)).ok());
    } else {
      store.join_local(key, ComponentValue(value));
    }
  }
  for (const ComponentId c : {kFlags, ComponentId{17}}) {
    std::set<EntityId> stored;
    for (const auto& [key, v] : store.entries()) {
      if (key.component == c) stored.insert(key.entity);
    }
    RC_ASSERT(*store.entities_with(c) == stored);
  }
}

}  // namespace
}  // namespace worldline::replica
