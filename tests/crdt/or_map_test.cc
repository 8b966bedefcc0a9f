#include "crdt/or_map.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "crdt/aw_or_set.h"
#include "crdt/causal_counter.h"
#include "crdt/mv_register.h"

namespace worldline::crdt {
namespace {

using Bag = OrMap<std::string, CausalCounter>;

TEST(OrMap, RemovalResetsTheNestedValue) {
  Bag bag;
  bag.update("arrow", [](CausalCounter& c) { return c.add(1, 20); });
  bag.remove("arrow");
  EXPECT_FALSE(bag.contains("arrow"));
  EXPECT_FALSE(bag.get("arrow").has_value());
  bag.update("arrow", [](CausalCounter& c) { return c.add(1, 5); });
  EXPECT_EQ(bag.get("arrow")->value(), 5);  // starts from zero, not from 20
}

TEST(OrMap, UpdateConcurrentWithRemovalSurvives) {
  Bag eu, us;
  us.join(eu.update("potion", [](CausalCounter& c) { return c.add(1, 3); }));
  auto drop = eu.remove("potion");
  auto gift = us.update("potion", [](CausalCounter& c) { return c.add(2, 2); });
  eu.join(gift);
  us.join(drop);
  EXPECT_EQ(eu, us);
  EXPECT_EQ(eu.get("potion")->value(), 2);
  EXPECT_EQ(eu.keys(), (std::vector<std::string>{"potion"}));
}

TEST(OrMap, NestedValuesShareOneCausalContext) {
  OrMap<std::string, AwOrSet<std::int64_t>> guilds;
  guilds.update("red", [](auto& s) { return s.add(1, 100); });
  guilds.update("blue", [](auto& s) { return s.add(1, 200); });
  // Two keys, one context: dots 1 and 2 of replica 1.
  EXPECT_EQ(guilds.context().to_string(), "{vv:[1:2] cloud:[]}");
  EXPECT_EQ(guilds.size(), 2u);
  EXPECT_TRUE(guilds.get("blue")->contains(200));
}

TEST(OrMap, MapsNest) {
  OrMap<std::string, OrMap<std::int64_t, MvRegister<std::string>>> quests, other;
  auto d = quests.update("main", [](auto& inner) {
    return inner.update(7, [](MvRegister<std::string>& r) { return r.assign(1, "started"); });
  });
  other.join(d);
  EXPECT_EQ(other.get("main")->get(7)->values(), (std::vector<std::string>{"started"}));
  auto d2 = other.update("main", [](auto& inner) { return inner.remove(7); });
  quests.join(d2);
  EXPECT_FALSE(quests.contains("main"));  // removing the last inner key empties the outer one
  EXPECT_EQ(quests, other);
}

TEST(OrMap, UpdateThatLeavesNothingAddsNoKey) {
  Bag bag;
  auto d = bag.update("ghost", [](CausalCounter& c) { return c.reset(); });
  EXPECT_FALSE(bag.contains("ghost"));
  EXPECT_TRUE(d.store().entries.empty());
  EXPECT_TRUE(bag.remove("nothing").is_bottom());
}

TEST(OrMap, PrintsKeysAndNestedStores) {
  Bag bag;
  bag.update("gem", [](CausalCounter& c) { return c.add(3, 2); });
  EXPECT_EQ(bag.to_string(), "OrMap{\"gem\":{(3:1)=2}} {vv:[3:1] cloud:[]}");
}

TEST(CausalCounter, EachReplicaKeepsOneEntry) {
  CausalCounter c, other;
  c.add(1, 5);
  c.add(1, -2);
  other.join(c);
  other.add(2, 10);
  c.join(other);
  EXPECT_EQ(c.value(), 13);
  EXPECT_EQ(c.store().entries.size(), 2u);
  EXPECT_EQ(c.to_string(), "CausalCounter{13} {(1:2)=3,(2:1)=10} {vv:[1:2,2:1] cloud:[]}");
}

// The indexed small-delta join touches only affected keys; it must equal the general join.
RC_GTEST_PROP(OrMapProps, SmallDeltaJoinEqualsGeneralJoin, ()) {
  OrMap<std::int64_t, AwOrSet<std::int64_t>> big, other;
  const int n = *rc::gen::inRange(10, 80);
  for (int i = 0; i < n; ++i) {
    auto d = big.update(i, [&](auto& s) { return s.add(1, i % 3); });
    if (*rc::gen::arbitrary<bool>()) other.join(d);
  }
  const int ops = *rc::gen::inRange(1, 30);
  for (int i = 0; i < ops; ++i) {
    const auto key = *rc::gen::inRange<std::int64_t>(0, n + 5);
    const auto e = *rc::gen::inRange<std::int64_t>(0, 3);
    auto d = [&] {
      switch (*rc::gen::inRange(0, 3)) {
        case 0:
          return other.remove(key);
        case 1:
          return other.update(key, [&](auto& s) { return s.remove(e); });
        default:
          return other.update(key, [&](auto& s) { return s.add(2, e); });
      }
    }();
    auto store = big.store();
    join_store(store, big.context(), d.store(), d.context());
    auto context = big.context();
    context.join(d.context());
    const OrMap<std::int64_t, AwOrSet<std::int64_t>> reference(std::move(store),
                                                               std::move(context));
    big.join(d);
    RC_ASSERT(big == reference);
  }
  RC_ASSERT(join(big, other) == join(other, big));
}

}  // namespace
}  // namespace worldline::crdt
