// RegionPipeline::submit_all(): a batch routed to its cells on the workers must be exactly what
// submitting each action in turn gives — the same admissions and rejections (duplicates and
// resends included), the same HLC stamps, hence the same outcomes tick after tick, the same
// counters. Streams mix new actors, invalid actions, resends of queued and of processed actions,
// actions out of order and players marked processed elsewhere (a failover) between batches.
#include "region/pipeline.h"
#include "tests/support/outboxes.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace worldline::region {
namespace {

// One region: replica, clocks, rules and a pipeline on `workers` threads, players 1..n spawned.
struct Region {
  replica::ComponentRegistry registry = replica::ComponentRegistry::game_defaults();
  replica::MemoryJournal journal;
  testing::NullOutbox outbox;
  crdt::ManualClock wall{1'000'000};
  crdt::HlcClock clock{1, wall, 10'000};
  replica::Replica world{replica::ReplicaOptions{1, {}}, registry, journal, outbox};
  GameRules rules{GameConfig{}};
  std::unique_ptr<RegionPipeline> pipeline;

  Region(int workers, ActorId players) {
    for (ActorId p = 1; p <= players; ++p)
      rules.spawn(world, p, {static_cast<double>(p % 40) * 10, 0, static_cast<double>(p / 40) * 10},
                  clock);
    (void)world.commit(0);
    PipelineOptions o;
    o.partition.workers = workers;
    o.partition.world = {-100, -100, 500, 500};
    o.partition.split_load = 40;  // a few cells, on both workers
    o.partition.merge_load = 10;
    // Small budgets: actions are deferred, so resends meet actions still queued from a tick
    // before.
    PriorityRules priority = PriorityRules::defaults();
    for (auto& c : priority.classes)
      c.budget_per_tick = 40;
    pipeline = std::make_unique<RegionPipeline>(o, priority, rules, world, clock);
  }
};

using Result = std::optional<std::pair<RejectReason, std::string>>;
Result result(const std::optional<Reject>& r) {
  if (!r) return std::nullopt;
  return std::pair{r->reason, r->detail};
}
using OutcomeKey = std::tuple<ActorId, std::uint64_t, bool, std::string>;
std::vector<OutcomeKey> keys(const std::vector<Outcome>& outcomes) {
  std::vector<OutcomeKey> out;
  for (const Outcome& o : outcomes)
    out.emplace_back(o.actor, o.seq, o.ok, o.reason);
  return out;
}

RC_GTEST_PROP(SubmitAll, IsTheSameAsSubmittingEachActionInTurn, ()) {
  const int workers = *rc::gen::element(1, 2, 3);
  constexpr ActorId kPlayers = 120;  // 121..130 act without being spawned: refused by the rules
  Region one_by_one(workers, kPlayers), batched(workers, kPlayers);
  std::map<ActorId, std::uint64_t> newest;  // per actor, the highest seq generated
  const int ticks = *rc::gen::inRange(2, 5);
  for (int t = 1; t <= ticks; ++t) {
    one_by_one.wall.advance(50);
    batched.wall.advance(50);
    const std::uint64_t now = one_by_one.wall.now_ms();
    // Large enough for the workers to route it (submit_all routes small batches itself).
    const int n = *rc::gen::inRange(256, 700);
    std::vector<Submission> batch;
    for (int i = 0; i < n; ++i) {
      Submission s;
      Action& a = s.action;
      a.actor = *rc::gen::inRange<ActorId>(1, kPlayers + 11);
      a.client_time_ms = now;
      const int roll = *rc::gen::inRange(0, 100);
      std::uint64_t& high = newest[a.actor];
      if (roll < 8 && high > 0) {
        a.client_seq = *rc::gen::inRange<std::uint64_t>(1, high + 1);  // a resend
      } else if (roll < 12) {
        high += 2;  // one skipped: a later action (or resend) may fill the gap
        a.client_seq = high;
      } else if (roll < 15 && high > 1) {
        a.client_seq = high - 1;  // filling a gap, or a resend
      } else {
        a.client_seq = ++high;
      }
      const int kind = *rc::gen::inRange(0, 100);
      s.raw_kind = kind < 45   ? static_cast<int>(ActionKind::kMove)
                   : kind < 70 ? static_cast<int>(ActionKind::kAttack)
                   : kind < 85 ? static_cast<int>(ActionKind::kChat)
                   : kind < 93 ? static_cast<int>(ActionKind::kPickup)
                   : kind < 97 ? kActionKinds + 3  // unknown kind
                               : static_cast<int>(ActionKind::kMove);
      a.position = {static_cast<double>(*rc::gen::inRange(0, 400)), 0,
                    static_cast<double>(*rc::gen::inRange(0, 400))};
      if (kind >= 97) a.position.x = std::numeric_limits<double>::quiet_NaN();
      a.target = s.raw_kind == static_cast<int>(ActionKind::kPickup)
                     ? 5'000 + *rc::gen::inRange<ActorId>(0, 20)
                     : *rc::gen::inRange<ActorId>(0, kPlayers + 1);  // 0: no target, refused
      a.text = "gg";
      batch.push_back(std::move(s));
    }
    std::vector<Result> expected;
    for (Submission s : batch) {
      expected.push_back(result(one_by_one.pipeline->submit(s.raw_kind, std::move(s.action), now)));
    }
    std::vector<Result> got(batch.size());
    std::size_t next = 0;  // the rejected come by strictly ascending index
    for (const auto& r : batched.pipeline->submit_all(batch, now)) {
      RC_ASSERT(r.index >= next);
      RC_ASSERT(r.index < batch.size());
      next = r.index + 1;
      got[r.index] = result(r.reject);
    }
    RC_ASSERT(got == expected);
    RC_ASSERT(keys(batched.pipeline->tick(static_cast<std::uint64_t>(t))) ==
              keys(one_by_one.pipeline->tick(static_cast<std::uint64_t>(t))));
    (void)one_by_one.world.commit(static_cast<std::uint64_t>(t));
    (void)batched.world.commit(static_cast<std::uint64_t>(t));
    if (*rc::gen::inRange(0, 3) == 0) {  // a player's earlier actions processed in another region
      const ActorId p = *rc::gen::inRange<ActorId>(1, kPlayers + 1);
      const std::uint64_t seq = newest[p] + *rc::gen::inRange<std::uint64_t>(0, 3);
      one_by_one.pipeline->mark_processed(p, seq);
      batched.pipeline->mark_processed(p, seq);
    }
  }
  RC_ASSERT(batched.pipeline->ingress().rejected() == one_by_one.pipeline->ingress().rejected());
  RC_ASSERT(batched.pipeline->ingress().admitted() == one_by_one.pipeline->ingress().admitted());
  const QueueStats a = batched.pipeline->queue_stats(), b = one_by_one.pipeline->queue_stats();
  RC_ASSERT(a.processed_by_class == b.processed_by_class);
  RC_ASSERT(a.duplicates == b.duplicates);
  RC_ASSERT(batched.pipeline->stats().processed == one_by_one.pipeline->stats().processed);
  for (ActorId p = 1; p <= kPlayers + 11; ++p)
    RC_ASSERT(batched.pipeline->processed_seq(p) == one_by_one.pipeline->processed_seq(p));
  RC_ASSERT(batched.world.store().digest() == one_by_one.world.store().digest());
}

// The batch's rejections land on the right entries — among them a duplicate of an action routed
// on a worker earlier in the same batch.
TEST(SubmitAll, RejectsLandOnTheirOwnEntries) {
  Region region(2, 10);
  region.wall.advance(50);
  std::uint64_t now = region.wall.now_ms();
  for (ActorId p = 1; p <= 10; ++p) {  // every actor known: the workers route all of the batch
    Action a;
    a.actor = p;
    a.client_seq = 1;
    a.client_time_ms = now;
    ASSERT_FALSE(region.pipeline->submit(static_cast<int>(ActionKind::kChat), a, now));
  }
  ASSERT_EQ(region.pipeline->tick(1).size(), 10u);
  region.wall.advance(50);
  now = region.wall.now_ms();
  std::vector<Submission> batch;
  for (ActorId p = 1; p <= 300; ++p) {  // past the size at which the workers route
    Submission s;
    s.raw_kind = static_cast<int>(ActionKind::kChat);
    s.action.actor = 1 + p % 10;
    s.action.client_seq = 2 + p / 10;
    s.action.client_time_ms = now;
    batch.push_back(s);
  }
  batch[7].raw_kind = 99;               // unknown kind
  batch[8].action = batch[298].action;  // a duplicate of an action later in the batch: routed
                                        // then, refused when the later one comes
  batch[200].action.client_seq = 0;     // seq 0 is never valid
  const auto out = region.pipeline->submit_all(batch, now);
  ASSERT_EQ(out.size(), 3u);  // in batch order
  EXPECT_EQ(out[0].index, 7u);
  EXPECT_EQ(out[0].reject.reason, RejectReason::kUnknownKind);
  EXPECT_EQ(out[1].index, 200u);
  EXPECT_EQ(out[1].reject.reason, RejectReason::kBadSequence);
  EXPECT_EQ(out[2].index, 298u) << "entry 298 repeats entry 8";
  EXPECT_EQ(out[2].reject.reason, RejectReason::kDuplicate);
  EXPECT_EQ(region.pipeline->ingress().admitted(), 10u + 298u);
  EXPECT_EQ(region.pipeline->ingress().rejected()[static_cast<int>(RejectReason::kDuplicate)], 1u);
  // Every admitted action but the duplicate, over the ticks the budgets spread them across.
  std::size_t outcomes = 0;
  for (std::uint64_t t = 2; t <= 11; ++t)
    outcomes += region.pipeline->tick(t).size();
  EXPECT_EQ(outcomes, 297u);
}

}  // namespace
}  // namespace worldline::region
