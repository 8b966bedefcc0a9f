#include "region/rules.h"

#include <gtest/gtest.h>

namespace worldline::region {
namespace {

TEST(PriorityRules, DefaultsRoundTripThroughToml) {
  const auto d = PriorityRules::defaults();
  auto back = PriorityRules::parse(d.to_toml(), "defaults");
  ASSERT_TRUE(back.ok()) << back.error().to_string() << "\n" << d.to_toml();
  EXPECT_EQ(back.value().class_of, d.class_of);
  ASSERT_EQ(back.value().classes.size(), 5u);
  EXPECT_EQ(back.value().classes[1].name, "combat");
  EXPECT_EQ(back.value().classes[4].budget_per_tick, 5000u);
  EXPECT_EQ(back.value().aging_per_tick, 0.5);
  EXPECT_EQ(back.value().rank(ActionKind::kCollide), 0);
  EXPECT_EQ(back.value().rank(ActionKind::kEmote), 4);
}

TEST(PriorityRules, EveryMistakeIsNamed) {
  auto err = [](const std::string& text) {
    auto r = PriorityRules::parse(text, "rules.toml");
    return r.ok() ? std::string("ok") : r.error().message;
  };
  const std::string all_but_emote =
      "[[class]]\nname = \"a\"\nkinds = [\"collide\", \"attack\", \"move\", \"pickup\", "
      "\"interact\", \"chat\"]\nbudget_per_tick = 10\nmax_wait_ticks = 2\n";
  EXPECT_EQ(err(""), "rules.toml: no [[class]] tables");
  EXPECT_EQ(err(all_but_emote), "rules.toml: action kind 'emote' has no class");
  EXPECT_EQ(
      err(all_but_emote + "[[class]]\nname = \"a\"\nkinds = [\"emote\"]\nbudget_per_tick = 1\n"
                          "max_wait_ticks = 1\n"),
      "rules.toml: class 'a' twice");
  EXPECT_EQ(err(all_but_emote +
                "[[class]]\nname = \"b\"\nkinds = [\"emote\", \"chat\"]\nbudget_per_tick = 1\n"
                "max_wait_ticks = 1\n"),
            "rules.toml: action kind 'chat' is in two classes");
  EXPECT_EQ(
      err(all_but_emote + "[[class]]\nname = \"b\"\nkinds = [\"dance\"]\nbudget_per_tick = 1\n"
                          "max_wait_ticks = 1\n"),
      "rules.toml: class 'b': unknown action kind 'dance'");
  EXPECT_EQ(err("[[class]]\nname = \"b\"\nkinds = [\"emote\"]\nbudget_per_tick = 0\n"
                "max_wait_ticks = 1\n"),
            "rules.toml: class 'b': budget_per_tick must be 1..100000000");
  EXPECT_EQ(err("[[class]]\nname = \"b\"\nkinds = [\"emote\"]\nbudget_per_tick = 1\n"
                "max_wait_ticks = 0\n"),
            "rules.toml: class 'b': max_wait_ticks must be 1..100000");
  EXPECT_EQ(err("aging_per_tick = -1\n" + all_but_emote),
            "rules.toml: aging_per_tick must be between 0 and 100");
  EXPECT_EQ(err("[[class]]\nkinds = [\"emote\"]\n"), "rules.toml: a [[class]] has no name");
  EXPECT_NE(err("[[class]\n").find("rules.toml: TOML syntax"), std::string::npos);
}

TEST(ActionKind, NamesRoundTrip) {
  for (int k = 0; k < kActionKinds; ++k) {
    const auto kind = static_cast<ActionKind>(k);
    EXPECT_EQ(action_kind_from_string(to_string(kind)), kind);
  }
  EXPECT_FALSE(action_kind_from_string("fly").has_value());
}

}  // namespace
}  // namespace worldline::region
