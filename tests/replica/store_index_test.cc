// Store::entities_with: the index of the entities holding an indexed component (the anticheat's
// flags and verdicts), kept by every path that stores a new key.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <set>

#include "crdt/codec.h"
#include "replica/store.h"

namespace worldline::replica {
namespace {

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
