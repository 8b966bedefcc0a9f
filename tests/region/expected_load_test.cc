// Expected loads (issue #17's proactive mode): an expectation splits an empty area ahead of the
// crowd, down to the cells its load asks for, holds the split against merges until it expires,
// balances the workers on it, and never breaks the tiling. Every figure below follows from the
// rules in region/partitioner.h: a leaf's share of an expectation is load × the fraction of the
// expected area it covers; a leaf splits when its share exceeds split_load.
#include "region/partitioner.h"
#include "region/pipeline.h"
#include "tests/support/outboxes.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <vector>

namespace worldline::region {
namespace {

// World 100 × 100, split above 10, merge below 5: the quadrant {0, 0, 50, 50} is 2 500 units²,
// its quarters 625, its sixteenths 156.25, its sixty-fourths 39.0625.
PartitionOptions small_world() {
  PartitionOptions o;
  o.world = {0, 0, 100, 100};
  o.split_load = 10;
  o.merge_load = 5;
  return o;
}

constexpr Rect kSouthWest{0, 0, 50, 50};

std::vector<CellId> ids(std::initializer_list<CellId> l) {
  return std::vector<CellId>(l);
}

TEST(ExpectedLoad, SplitsAnEmptyAreaDownToTheCellsItsLoadAsksForAtTheNextRebalance) {
  SpatialPartitioner p(small_world());
  ASSERT_EQ(p.expect_load(kSouthWest, 170, 10), ExpectOutcome::kHeld);
  const RebalanceReport r = p.rebalance(1);  // every measured load 0
  // Shares: root and SW quadrant 170 (split); its quarters 42.5 (split); sixteenths 10.625
  // (split); sixty-fourths 2.66 (stay). 1 + 1 + 4 + 16 splits, none for a measured load.
  EXPECT_EQ(r.splits, 22);
  EXPECT_EQ(r.splits_ahead, 22);
  EXPECT_EQ(r.merges, 0);
  EXPECT_EQ(p.leaves().size(), 3u + 64u);  // the other three quadrants whole, SW in 6.25² cells
  EXPECT_EQ(p.bounds(p.cell_of(1, 1)), (Rect{0, 0, 6.25, 6.25}));
  EXPECT_EQ(p.bounds(p.cell_of(49, 49)), (Rect{43.75, 43.75, 50, 50}));
  EXPECT_EQ(p.bounds(p.cell_of(60, 60)), (Rect{50, 50, 100, 100}));
  EXPECT_EQ(p.bounds(p.cell_of(60, 10)), (Rect{50, 0, 100, 50}));
  // Workers by effective load: 64 cells of ceil(2.66) = 3, 192 in all, first on the Z curve;
  // the cut falls after 32 of them, and the empty quadrants go to the last worker.
  EXPECT_EQ(p.worker_loads(), (std::vector<std::uint64_t>{96, 96}));
  EXPECT_EQ(p.worker_of(p.cell_of(1, 1)), 0);
  EXPECT_EQ(p.worker_of(p.cell_of(49, 49)), 1);
  EXPECT_EQ(p.worker_of(p.cell_of(60, 60)), 1);
}

TEST(ExpectedLoad, ChildrenAreNotMergedBackWhileItHoldsAndMergeAfterItExpires) {
  SpatialPartitioner p(small_world());
  ASSERT_EQ(p.expect_load(kSouthWest, 30, 3), ExpectOutcome::kHeld);
  // Root and SW split (share 30); SW's quarters hold 7.5 each and stay. Node ids: root 0, its
  // quadrants 1 (SW) to 4, SW's quarters 5 to 8.
  RebalanceReport r = p.rebalance(1);
  EXPECT_EQ(r.splits, 2);
  EXPECT_EQ(p.leaves(), ids({2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(p.bounds(5), (Rect{0, 0, 25, 25}));
  // Measured loads all 0 (the crowd has not come): SW's quarters would merge (0 < 5) without
  // the floor; with it they weigh 4 × ceil(7.5) = 32.
  for (std::uint64_t tick : {2, 3}) {
    for (CellId c : p.leaves())
      p.set_load(c, 0);
    r = p.rebalance(tick);
    EXPECT_EQ(r.merges, 0) << "tick " << tick;
    EXPECT_EQ(p.leaves().size(), 7u) << "tick " << tick;
  }
  EXPECT_EQ(r.expired, 1);  // used at tick 3 (its until_tick), dropped after it
  EXPECT_TRUE(p.expected_loads().empty());
  r = p.rebalance(4);  // SW's quarters merge (node 1 is visited after root 0, which waits)
  EXPECT_EQ(r.merges, 1);
  EXPECT_EQ(p.leaves(), ids({1, 2, 3, 4}));
  r = p.rebalance(5);
  EXPECT_EQ(r.merges, 1);
  EXPECT_EQ(p.leaves(), ids({0}));
}

TEST(ExpectedLoad, AnExpectationBelowSplitLoadStillHoldsASplitTheMeasuredLoadMade) {
  SpatialPartitioner p(small_world());
  p.set_load(0, 11);
  ASSERT_EQ(p.rebalance(1).splits, 1);  // root → 1 (SW) to 4
  for (CellId c : ids({1, 2, 3, 4}))
    p.set_load(c, c == 1 ? 11 : 0);
  ASSERT_EQ(p.rebalance(2).splits, 1);  // SW → 5 to 8
  // 8 expected over SW: no split (8 ≤ 10), but SW's quarters weigh ceil(2) each, 8 ≥ 5 in all,
  // although every measured load is 0 — the crowd the split was made for is expected back.
  ASSERT_EQ(p.expect_load(kSouthWest, 8, 4), ExpectOutcome::kHeld);
  for (std::uint64_t tick : {3, 4}) {
    for (CellId c : p.leaves())
      p.set_load(c, 0);
    const RebalanceReport r = p.rebalance(tick);
    EXPECT_EQ(r.splits, 0) << "tick " << tick;
    EXPECT_EQ(r.merges, 0) << "tick " << tick;
  }
  EXPECT_EQ(p.rebalance(5).merges, 1);
  EXPECT_EQ(p.leaves(), ids({1, 2, 3, 4}));
}

TEST(ExpectedLoad, AMergeNeverMakesALeafItsShareWouldSplitAgain) {
  // merge_load above split_load: the quarters' effective loads (4 × 4 = 16) are below 20, yet
  // merging them would make a leaf whose share (16) exceeds split_load.
  PartitionOptions o = small_world();
  o.merge_load = 20;
  SpatialPartitioner p(o);
  ASSERT_EQ(p.expect_load(kSouthWest, 16, 100), ExpectOutcome::kHeld);
  EXPECT_EQ(p.rebalance(1).splits, 2);
  const RebalanceReport r = p.rebalance(2);
  EXPECT_EQ(r.merges, 0);
  EXPECT_EQ(r.splits, 0);
  EXPECT_EQ(p.leaves(), ids({2, 3, 4, 5, 6, 7, 8}));
}

TEST(ExpectedLoad, OutsideTheWorldOrWithLoadZeroOrAlreadyPastItDoesNothing) {
  SpatialPartitioner p(small_world());
  EXPECT_EQ(p.expect_load({200, 200, 300, 300}, 1000, 10), ExpectOutcome::kIgnored);
  EXPECT_EQ(p.expect_load({100, 0, 150, 100}, 1000, 10), ExpectOutcome::kIgnored);  // an edge
  EXPECT_EQ(p.expect_load(kSouthWest, 0, 10), ExpectOutcome::kIgnored);
  EXPECT_EQ(p.expect_load({50, 50, 40, 60}, 1000, 10), ExpectOutcome::kIgnored);  // empty
  EXPECT_EQ(p.expect_load({NAN, 0, 50, 50}, 1000, 10), ExpectOutcome::kIgnored);
  EXPECT_TRUE(p.expected_loads().empty());
  RebalanceReport r = p.rebalance(5);
  EXPECT_EQ(r.splits, 0);
  EXPECT_EQ(p.leaves(), ids({0}));
  EXPECT_EQ(p.worker_loads(), (std::vector<std::uint64_t>{0, 0}));
  // After the rebalance of tick 5, an expectation until tick 5 could never be used.
  EXPECT_EQ(p.expect_load(kSouthWest, 1000, 5), ExpectOutcome::kExpired);
  EXPECT_TRUE(p.expected_loads().empty());
  EXPECT_EQ(p.expect_load(kSouthWest, 1000, 6), ExpectOutcome::kHeld);
}

TEST(ExpectedLoad, AnAreaPartlyOutsideTheWorldIsClippedAndKeepsItsWholeLoad) {
  SpatialPartitioner p(small_world());
  // 40 over {-50, -50, 50, 50}: clipped to SW, so SW's share is 40, not the 10 of a quarter of
  // the unclipped area (which would not split SW at all).
  ASSERT_EQ(p.expect_load({-50, -50, 50, 50}, 40, 10), ExpectOutcome::kHeld);
  EXPECT_EQ(p.expected_loads(), (std::vector<ExpectedLoad>{{kSouthWest, 40, 10}}));
  EXPECT_DOUBLE_EQ(p.expected_share({0, 0, 25, 25}), 10);
  EXPECT_DOUBLE_EQ(p.expected_share({25, 25, 75, 75}), 10);  // covers a quarter of SW
  // Root (40) and SW (40) split; SW's quarters hold exactly 10, which does not exceed 10.
  EXPECT_EQ(p.rebalance(1).splits, 2);
  EXPECT_EQ(p.leaves().size(), 7u);
}

TEST(ExpectedLoad, OverlappingExpectationsCountOnceTheLargestShareNotTheSum) {
  SpatialPartitioner p(small_world());
  ASSERT_EQ(p.expect_load(kSouthWest, 8, 10), ExpectOutcome::kHeld);
  ASSERT_EQ(p.expect_load({0, 0, 25, 25}, 6, 10), ExpectOutcome::kHeld);
  EXPECT_DOUBLE_EQ(p.expected_share(kSouthWest), 8);      // max(8, 6), not 14
  EXPECT_DOUBLE_EQ(p.expected_share({0, 0, 25, 25}), 6);  // max(8 / 4, 6)
  // Root's share is 8: no split, whereas a sum (14) would split it.
  EXPECT_EQ(p.rebalance(1).splits, 0);
}

TEST(ExpectedLoad, SplitsAheadStopAtMaxDepthAndSpreadOverRebalancesBeyondTheirBudget) {
  PartitionOptions o = small_world();
  o.max_depth = 2;
  SpatialPartitioner shallow(o);
  ASSERT_EQ(shallow.expect_load(kSouthWest, 170, 10), ExpectOutcome::kHeld);
  EXPECT_EQ(shallow.rebalance(1).splits, 2);  // SW's quarters are at depth 2 (share 42.5)
  EXPECT_EQ(shallow.leaves().size(), 7u);
  EXPECT_EQ(shallow.rebalance(2).splits, 0);

  o = small_world();
  o.max_splits_ahead = 3;
  SpatialPartitioner budget(o);
  ASSERT_EQ(budget.expect_load(kSouthWest, 170, 100), ExpectOutcome::kHeld);
  // Breadth first: root, SW, then the first of SW's quarters (node 5) — 3 + 3 + 4 leaves.
  EXPECT_EQ(budget.rebalance(1).splits, 3);
  EXPECT_EQ(budget.leaves().size(), 10u);
  EXPECT_EQ(budget.bounds(budget.cell_of(1, 1)), (Rect{0, 0, 12.5, 12.5}));
  // The other 19 of the 22 splits follow, 3 a rebalance: 7 more rebalances.
  int splits = 3, rebalances = 1;
  for (std::uint64_t tick = 2; tick < 20 && budget.leaves().size() < 67; ++tick) {
    const RebalanceReport r = budget.rebalance(tick);
    EXPECT_LE(r.splits, 3);
    EXPECT_EQ(r.merges, 0);
    splits += r.splits;
    ++rebalances;
  }
  EXPECT_EQ(splits, 22);
  EXPECT_EQ(rebalances, 8);
  EXPECT_EQ(budget.leaves().size(), 67u);
}

// Found by review: the per-rebalance budget alone let an absurd expectation (the largest load
// over the whole world) grow the tree by up to 768 leaves a tick, towards 4^max_depth.
TEST(ExpectedLoad, AnAbsurdExpectationStopsAtMaxLeavesAhead) {
  PartitionOptions o = small_world();
  o.max_depth = 10;
  o.max_leaves_ahead = 100;
  SpatialPartitioner p(o);
  ASSERT_EQ(p.expect_load(Rect{0, 0, 100, 100}, 4'000'000'000u, 1000), ExpectOutcome::kHeld);
  for (std::uint64_t t = 1; t <= 20; ++t)
    (void)p.rebalance(t);
  // Breadth first, 3 leaves a split: 1 + 3 · 33 = 100 leaves, and no split past that.
  EXPECT_EQ(p.leaves().size(), 100u);
}

TEST(ExpectedLoad, AtMost64AreHeldAndANewAreaReplacesTheOneExpiringFirst) {
  SpatialPartitioner p(small_world());
  const auto strip = [](int i) { return Rect{i * 1.0, 0, i + 1.0, 1}; };
  for (int i = 0; i < 64; ++i) {
    // Strip 10 expires first (tick 50); the others at 100 + i.
    const std::uint64_t until = i == 10 ? 50 : 100 + static_cast<std::uint64_t>(i);
    ASSERT_EQ(p.expect_load(strip(i), 1, until), ExpectOutcome::kHeld) << i;
  }
  ASSERT_EQ(p.expected_loads().size(), SpatialPartitioner::kMaxExpectedLoads);
  // The same area again: a refreshed forecast replaces it in place, whatever the bound.
  EXPECT_EQ(p.expect_load(strip(3), 7, 60), ExpectOutcome::kHeld);
  EXPECT_EQ(p.expected_loads()[3], (ExpectedLoad{strip(3), 7, 60}));
  EXPECT_EQ(p.expected_loads().size(), 64u);
  // A 65th area: strip 10 (tick 50) goes; the others keep their order and the new one is last.
  EXPECT_EQ(p.expect_load(strip(64), 2, 70), ExpectOutcome::kReplaced);
  ASSERT_EQ(p.expected_loads().size(), 64u);
  EXPECT_EQ(p.expected_loads()[10].area, strip(11));
  EXPECT_EQ(p.expected_loads().back(), (ExpectedLoad{strip(64), 2, 70}));
  // Then strip 3 (tick 60) is the one expiring first.
  EXPECT_EQ(p.expect_load(strip(65), 2, 200), ExpectOutcome::kReplaced);
  EXPECT_EQ(p.expected_loads()[3].area, strip(4));
}

// The law: whatever expectations are held or expire, the leaves still tile the world (each
// point in exactly one leaf, the leaves' areas summing to the world's), every leaf has one
// worker, every held expectation is inside the world with a load and a future tick, and after a
// rebalance no leaf short of max_depth has a share above split_load (the budget is not the limit
// here).
RC_GTEST_PROP(ExpectedLoadProps, WithAnyExpectationsTheLeavesTileTheWorldAndEachPointIsInOneLeaf,
              ()) {
  PartitionOptions o;
  o.world = {-1000, -1000, 1000, 1000};
  o.split_load = *rc::gen::inRange<std::uint32_t>(5, 50);
  o.merge_load = o.split_load / 4;
  o.workers = *rc::gen::inRange(1, 5);
  o.max_depth = *rc::gen::inRange(1, 6);
  o.max_splits_ahead = 1 << 12;  // more than the 1 365 nodes above depth 6
  SpatialPartitioner p(o);
  std::mt19937_64 rng(*rc::gen::arbitrary<std::uint64_t>());
  std::uniform_real_distribution<double> coord(-1000, 1000), wide(-1500, 1500);
  std::uniform_int_distribution<std::uint32_t> load(0, 3000);
  std::vector<std::pair<double, double>> pts(*rc::gen::inRange(0, 300));
  const int rounds = *rc::gen::inRange(1, 10);
  for (int round = 1; round <= rounds; ++round) {
    const auto tick = static_cast<std::uint64_t>(round);
    const int n = *rc::gen::inRange(0, 30);
    for (int i = 0; i < n; ++i) {
      double x0 = wide(rng), x1 = wide(rng), z0 = wide(rng), z1 = wide(rng);
      if (x0 > x1) std::swap(x0, x1);
      if (z0 > z1) std::swap(z0, z1);
      (void)p.expect_load({x0, z0, x1, z1}, load(rng), tick + rng() % 5);
    }
    for (auto& pt : pts)
      pt = {coord(rng) * (round % 2 ? 0.1 : 1), coord(rng)};
    std::map<CellId, std::uint64_t> counted;  // measured load: the points in each leaf
    for (CellId c : p.leaves())
      counted[c] = 0;
    for (const auto& [x, z] : pts)
      ++counted[p.cell_of(x, z)];
    for (const auto& [c, n] : counted)
      p.set_load(c, n);
    p.rebalance(tick);
    RC_ASSERT(p.expected_loads().size() <= SpatialPartitioner::kMaxExpectedLoads);
    for (const ExpectedLoad& e : p.expected_loads()) {
      RC_ASSERT(e.load > 0u);
      RC_ASSERT(e.until_tick > tick);
      RC_ASSERT(e.area.min_x >= o.world.min_x && e.area.max_x <= o.world.max_x);
      RC_ASSERT(e.area.min_z >= o.world.min_z && e.area.max_z <= o.world.max_z);
      RC_ASSERT(e.area.min_x < e.area.max_x && e.area.min_z < e.area.max_z);
    }
    double area = 0;
    for (CellId l : p.leaves()) {
      const Rect& b = p.bounds(l);
      area += (b.max_x - b.min_x) * (b.max_z - b.min_z);
      RC_ASSERT(p.worker_of(l) >= 0 && p.worker_of(l) < o.workers);
      // Depth from the width (the world is square, each level halves it).
      const int depth = static_cast<int>(std::lround(std::log2(2000 / (b.max_x - b.min_x))));
      RC_ASSERT(depth <= o.max_depth);
      // Invariant 5 (the expectations just dropped were used by this rebalance, so check it
      // against the ones still held: a subset, whose shares are no larger).
      RC_ASSERT(depth == o.max_depth || !(p.expected_share(b) > o.split_load));
    }
    RC_ASSERT(area == 2000.0 * 2000.0);
    for (const auto& [x, z] : pts) {
      int containing = 0;
      for (CellId l : p.leaves())
        containing += p.bounds(l).contains(x, z);
      RC_ASSERT(containing == 1);
      RC_ASSERT(p.bounds(p.cell_of(x, z)).contains(x, z));
    }
  }
}

// Through the pipeline: the call between ticks, the split at the end of the next tick, the stats,
// and the entities still placed after the tree changed under them.
class ExpectedLoadPipelineTest : public ::testing::Test {
 protected:
  replica::ComponentRegistry registry = replica::ComponentRegistry::game_defaults();
  replica::MemoryJournal journal;
  testing::NullOutbox outbox;
  crdt::ManualClock wall{1'000'000};
  crdt::HlcClock clock{1, wall, 10'000};
  replica::Replica world{replica::ReplicaOptions{1, {1}}, registry, journal, outbox};
};

TEST_F(ExpectedLoadPipelineTest, AnExpectationSplitsAheadHoldsAndMergesAfterItExpires) {
  GameRules rules(GameConfig{});
  PipelineOptions po;
  po.partition = small_world();
  RegionPipeline pipeline(po, PriorityRules::defaults(), rules, world, clock);
  rules.spawn(world, 1, {75, 0, 75}, clock);  // in NE: measured load 1 there
  EXPECT_EQ(pipeline.expect_load(kSouthWest, 30, 3), ExpectOutcome::kHeld);
  EXPECT_EQ(pipeline.stats().expectations_held, 1u);
  pipeline.tick(1);
  EXPECT_EQ(pipeline.stats().splits, 2u);
  EXPECT_EQ(pipeline.stats().splits_ahead, 2u);
  EXPECT_EQ(pipeline.cells().size(), 7u);
  // cell_loads (what the director samples every tick) is cells() without the ghost scan.
  std::vector<CellLoad> loads;
  pipeline.cell_loads(loads);
  const std::vector<CellReport> reports = pipeline.cells();
  ASSERT_EQ(loads.size(), reports.size());
  std::size_t entities = 0;
  for (std::size_t i = 0; i < loads.size(); ++i) {
    EXPECT_EQ(loads[i].cell, reports[i].cell);
    EXPECT_EQ(loads[i].entities, reports[i].entities);
    EXPECT_EQ(loads[i].processed_last_tick, reports[i].processed_last_tick);
    entities += loads[i].entities;
  }
  EXPECT_EQ(entities, 1u);  // the one player, in one leaf
  ASSERT_TRUE(pipeline.cell_of_entity(1).has_value());
  EXPECT_EQ(pipeline.partition().bounds(*pipeline.cell_of_entity(1)), (Rect{50, 50, 100, 100}));
  pipeline.tick(2);
  pipeline.tick(3);  // the last tick it holds for
  EXPECT_EQ(pipeline.stats().merges, 0u);
  EXPECT_EQ(pipeline.stats().expectations_held, 0u);
  pipeline.tick(4);  // SW's quarters merge, then the root's four (1 < 5)
  pipeline.tick(5);
  EXPECT_EQ(pipeline.stats().merges, 2u);
  EXPECT_EQ(pipeline.cells().size(), 1u);
  EXPECT_EQ(pipeline.cell_of_entity(1), std::optional<CellId>{0});
  EXPECT_EQ(pipeline.stats().splits_ahead, 2u);
}

}  // namespace
}  // namespace worldline::region
