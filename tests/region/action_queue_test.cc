// The causal priority scheduler: ordering within a tick, causality across actors, budgets and
// deferral, the anti-starvation bound under a flood, duplicates, and rules swapped between ticks.
#include "region/action_queue.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <set>

namespace worldline::region {
namespace {

Action make(ActorId actor, ActionKind kind, std::uint64_t seq, std::uint64_t stamp_ms = 0) {
  Action a;
  a.actor = actor;
  a.kind = kind;
  a.client_seq = seq;
  a.stamp = crdt::Hlc{stamp_ms, 0, 1};
  return a;
}

std::vector<std::pair<ActorId, std::uint64_t>> ids(const std::vector<Action>& v) {
  std::vector<std::pair<ActorId, std::uint64_t>> out;
  for (const auto& a : v)
    out.emplace_back(a.actor, a.client_seq);
  return out;
}

TEST(ActionQueue, OrdersByClassThenStamp) {
  ActionQueue q(PriorityRules::defaults());
  q.push(make(1, ActionKind::kChat, 1, 10), 0);
  q.push(make(2, ActionKind::kMove, 1, 30), 0);
  q.push(make(3, ActionKind::kAttack, 1, 50), 0);
  q.push(make(4, ActionKind::kMove, 1, 20), 0);
  q.push(make(5, ActionKind::kCollide, 1, 99), 0);
  q.push(make(6, ActionKind::kPickup, 1, 1), 0);
  const auto out = q.take(0);
  EXPECT_EQ(ids(out), (std::vector<std::pair<ActorId, std::uint64_t>>{
                          {5, 1}, {3, 1}, {4, 1}, {2, 1}, {6, 1}, {1, 1}}));
  EXPECT_EQ(q.size(), 0u);
}

TEST(ActionQueue, AnActorsActionsKeepTheirOrderWhateverTheirClass) {
  ActionQueue q(PriorityRules::defaults());
  q.push(make(1, ActionKind::kAttack, 3), 0);  // arrives first, but is the actor's third
  q.push(make(1, ActionKind::kChat, 1), 0);
  q.push(make(1, ActionKind::kMove, 2), 0);
  q.push(make(2, ActionKind::kMove, 1), 0);
  const auto out = q.take(0);
  // Actor 2's move outranks actor 1's chat; actor 1's move and attack must follow its chat.
  EXPECT_EQ(ids(out),
            (std::vector<std::pair<ActorId, std::uint64_t>>{{2, 1}, {1, 1}, {1, 2}, {1, 3}}));
  EXPECT_EQ(q.processed_seq(1), 3u);
}

TEST(ActionQueue, AnInteractionWaitsForTheActionThatProducedTheStateItRead) {
  ActionQueue q(PriorityRules::defaults());
  // Actor 2 attacks actor 1 having seen actor 1's move (seq 4): movement ranks below combat,
  // yet the attack must come after that move.
  Action attack = make(2, ActionKind::kAttack, 1, 1);
  attack.after = Dependency{1, 4};
  q.push(attack, 0);
  q.push(make(1, ActionKind::kChat, 3, 2), 0);
  q.push(make(1, ActionKind::kMove, 4, 3), 0);
  q.push(make(3, ActionKind::kAttack, 1, 9), 0);
  const auto out = q.take(0);
  EXPECT_EQ(ids(out),
            (std::vector<std::pair<ActorId, std::uint64_t>>{{3, 1}, {1, 3}, {1, 4}, {2, 1}}));
}

TEST(ActionQueue, AMissingDependencyHoldsAnActionOnlyUntilItsMaxWait) {
  ActionQueue q(PriorityRules::defaults());  // combat: max_wait_ticks = 2
  Action attack = make(2, ActionKind::kAttack, 1);
  attack.after = Dependency{1, 7};  // never arrives
  q.push(attack, 0);
  EXPECT_TRUE(q.take(0).empty());
  EXPECT_TRUE(q.take(1).empty());
  EXPECT_EQ(ids(q.take(2)), (std::vector<std::pair<ActorId, std::uint64_t>>{{2, 1}}));
}

TEST(ActionQueue, OverBudgetActionsAreDeferredAndCountedNeverDropped) {
  auto rules = PriorityRules::defaults();
  rules.classes[4].budget_per_tick = 2;  // social
  rules.classes[4].max_wait_ticks = 5;
  ActionQueue q(rules);
  for (ActorId a = 1; a <= 5; ++a)
    q.push(make(a, ActionKind::kChat, 1, a), 0);
  EXPECT_EQ(q.take(0).size(), 2u);
  auto st = q.stats();
  EXPECT_EQ(st.depth_by_class[4], 3u);
  EXPECT_EQ(st.deferred_by_class[4], 3u);
  EXPECT_EQ(q.take(1).size(), 2u);
  EXPECT_EQ(q.take(2).size(), 1u);
  st = q.stats();
  EXPECT_EQ(st.processed_by_class[4], 5u);
  EXPECT_EQ(st.deferred_by_class[4], 3u + 1u);
  EXPECT_EQ(st.wait_ticks[0], 2u);
  EXPECT_EQ(st.wait_ticks[1], 2u);
  EXPECT_EQ(st.wait_ticks[2], 1u);
  EXPECT_EQ(q.size(), 0u);
}

TEST(ActionQueue, AResentActionIsRefusedAsADuplicate) {
  ActionQueue q(PriorityRules::defaults());
  EXPECT_TRUE(q.push(make(1, ActionKind::kMove, 1), 0));
  EXPECT_FALSE(q.push(make(1, ActionKind::kMove, 1), 0));  // still queued
  q.take(0);
  EXPECT_FALSE(q.push(make(1, ActionKind::kMove, 1), 1));  // already processed
  EXPECT_TRUE(q.push(make(1, ActionKind::kMove, 2), 1));
  EXPECT_EQ(q.stats().duplicates, 2u);
}

TEST(ActionQueue, RulesSwappedBetweenTicksTakeEffectNextTick) {
  ActionQueue q(PriorityRules::defaults());
  q.push(make(1, ActionKind::kChat, 1, 1), 0);
  q.push(make(2, ActionKind::kMove, 1, 2), 0);
  EXPECT_EQ(ids(q.take(0)), (std::vector<std::pair<ActorId, std::uint64_t>>{{2, 1}, {1, 1}}));
  // A studio decides chat outranks movement (say, a social event).
  auto rules = PriorityRules::defaults();
  std::swap(rules.classes[2], rules.classes[4]);
  for (auto& c : rules.class_of)
    c = c == 2 ? 4 : c == 4 ? 2 : c;
  q.set_rules(rules);
  q.push(make(1, ActionKind::kChat, 2, 3), 1);
  q.push(make(2, ActionKind::kMove, 2, 4), 1);
  EXPECT_EQ(ids(q.take(1)), (std::vector<std::pair<ActorId, std::uint64_t>>{{1, 2}, {2, 2}}));
}

// For random streams: every action is processed exactly once, each actor's in client_seq order,
// every dependency before its dependent unless the dependent was forced, and in each tick the
// actions not bound by causality come out by (effective rank, stamp).
RC_GTEST_PROP(ActionQueueProps, CausalityAndPriorityHoldForRandomStreams, ()) {
  auto rules = PriorityRules::defaults();
  rules.aging_per_tick = 0;  // pure class order, so the property can be stated exactly
  for (auto& c : rules.classes) {
    c.budget_per_tick = *rc::gen::inRange<std::uint32_t>(1, 6);
    c.max_wait_ticks = 1000;  // never forced in this property
  }
  ActionQueue q(rules);
  std::map<ActorId, std::uint64_t> next_seq;
  std::set<std::pair<ActorId, std::uint64_t>> pushed, processed;
  std::map<ActorId, std::uint64_t> last_processed;
  const int ticks = *rc::gen::inRange(1, 30);
  for (int t = 0; t < ticks + 200; ++t) {
    if (t < ticks) {
      const int n = *rc::gen::inRange(0, 12);
      for (int i = 0; i < n; ++i) {
        const ActorId actor = *rc::gen::inRange<ActorId>(1, 6);
        Action a = make(actor, static_cast<ActionKind>(*rc::gen::inRange(0, kActionKinds)),
                        ++next_seq[actor], static_cast<std::uint64_t>(t * 100 + i));
        RC_ASSERT(q.push(a, t));
        pushed.insert({actor, a.client_seq});
      }
    }
    const auto out = q.take(t);
    for (std::size_t i = 0; i < out.size(); ++i) {
      const Action& a = out[i];
      RC_ASSERT(processed.insert({a.actor, a.client_seq}).second);  // exactly once
      RC_ASSERT(a.client_seq > last_processed[a.actor]);            // actor order
      last_processed[a.actor] = a.client_seq;
      // Priority: no action emitted later in this tick may outrank this one if it was already
      // its actor's next action when this one was chosen (with aging off and nothing forced,
      // the budget it was later processed under was not exhausted then either).
      for (std::size_t j = i + 1; j < out.size(); ++j) {
        const Action& b = out[j];
        if (b.actor == a.actor) continue;
        int prev = -1;
        for (std::size_t k = 0; k < j; ++k) {
          if (out[k].actor == b.actor) prev = static_cast<int>(k);
        }
        if (prev >= static_cast<int>(i)) continue;  // b was not yet its actor's next action
        const int ra = rules.rank(a.kind), rb = rules.rank(b.kind);
        const bool b_outranks = rb < ra || (rb == ra && b.stamp < a.stamp);
        RC_ASSERT(!b_outranks);
      }
    }
    if (t >= ticks && q.size() == 0) break;
  }
  RC_ASSERT(processed == pushed);
}

// Under sustained floods that exceed every class's budget, with actors mixing classes in their
// chains and depending on each other, no action waits longer than its class's bound.
RC_GTEST_PROP(ActionQueueProps, NoActionWaitsLongerThanItsClassBound, ()) {
  auto rules = PriorityRules::defaults();
  rules.aging_per_tick = *rc::gen::element(0.0, 0.25, 1.0);
  for (auto& c : rules.classes) {
    c.budget_per_tick = *rc::gen::inRange<std::uint32_t>(1, 4);
    c.max_wait_ticks = *rc::gen::inRange<std::uint32_t>(1, 6);
  }
  ActionQueue q(rules);
  std::map<ActorId, std::uint64_t> seq;
  const int ticks = *rc::gen::inRange(5, 40);
  std::uint64_t max_bound = 0;
  for (const auto& c : rules.classes) {
    max_bound = std::max<std::uint64_t>(max_bound, c.max_wait_ticks);
  }
  std::size_t processed = 0, pushed = 0, over_budget_ticks = 0;
  for (int t = 0; t < ticks + static_cast<int>(max_bound) + 2; ++t) {
    if (t < ticks) {
      const int n = *rc::gen::inRange(10, 40);  // far more than the budgets allow
      for (int i = 0; i < n; ++i) {
        const ActorId actor = *rc::gen::inRange<ActorId>(1, 10);
        Action a = make(actor, static_cast<ActionKind>(*rc::gen::inRange(0, kActionKinds)),
                        ++seq[actor], static_cast<std::uint64_t>(t * 100 + i));
        if (*rc::gen::inRange(0, 5) == 0) {
          a.after = Dependency{*rc::gen::inRange<ActorId>(1, 10),
                               *rc::gen::inRange<std::uint64_t>(1, 50)};
        }
        q.push(a, t);
        ++pushed;
      }
    }
    const auto out = q.take(t);
    processed += out.size();
    for (const Action& a : out) {
      const auto bound = rules.classes[rules.rank(a.kind)].max_wait_ticks;
      RC_ASSERT(t - a.enqueued_tick <= bound);
    }
    over_budget_ticks += q.size() > 0;
  }
  RC_ASSERT(q.size() == 0u);
  RC_ASSERT(processed == pushed);
  RC_TAG(over_budget_ticks > 0 ? "budgets exceeded" : "within budgets");
}

}  // namespace
}  // namespace worldline::region
