// The adaptive quadtree: cells tile the world, hot cells split and cold ones merge, workers get
// contiguous runs of about equal load, ghosts are found across boundaries, and a congregation of
// 10 000 players keeps the load balanced as the tree follows them.
#include "region/partitioner.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cmath>
#include <map>
#include <random>

namespace worldline::region {
namespace {

struct Point {
  double x, z;
};

// Reports the number of points in each leaf as its load, then rebalances.
RebalanceReport rebalance_for(SpatialPartitioner& p, const std::vector<Point>& pts) {
  std::map<CellId, std::uint64_t> load;
  for (CellId c : p.leaves())
    load[c] = 0;
  for (const Point& pt : pts)
    ++load[p.cell_of(pt.x, pt.z)];
  for (const auto& [c, l] : load)
    p.set_load(c, l);
  return p.rebalance();
}

TEST(SpatialPartitioner, AHotCellSplitsInFourAndColdSiblingsMergeBack) {
  PartitionOptions o;
  o.world = {0, 0, 100, 100};
  o.split_load = 10;
  o.merge_load = 5;
  SpatialPartitioner p(o);
  ASSERT_EQ(p.leaves().size(), 1u);
  p.set_load(0, 11);
  auto r = p.rebalance();
  EXPECT_EQ(r.splits, 1);
  const auto leaves = p.leaves();
  ASSERT_EQ(leaves.size(), 4u);
  const CellId ne = p.cell_of(75, 75);
  EXPECT_EQ(p.bounds(ne).min_x, 50);
  EXPECT_EQ(p.bounds(ne).min_z, 50);
  EXPECT_EQ(p.bounds(ne).max_x, 100);
  for (CellId c : leaves)
    p.set_load(c, 1);
  r = p.rebalance();
  EXPECT_EQ(r.merges, 1);
  EXPECT_EQ(p.leaves(), std::vector<CellId>{0});
  EXPECT_THROW(p.set_load(ne, 1), std::invalid_argument);  // no longer a leaf
}

TEST(SpatialPartitioner, FindsGhostCellsAcrossABoundary) {
  PartitionOptions o;
  o.world = {0, 0, 100, 100};
  o.split_load = 0;
  SpatialPartitioner p(o);
  p.set_load(0, 1);
  p.rebalance();  // four quads of 50 × 50
  const CellId home = p.cell_of(48, 10);
  const CellId east = p.cell_of(52, 10);
  EXPECT_NE(home, east);
  EXPECT_EQ(p.ghost_cells(48, 10, 5, home), std::vector<CellId>{east});
  EXPECT_TRUE(p.ghost_cells(25, 25, 5, p.cell_of(25, 25)).empty());
  EXPECT_EQ(p.ghost_cells(49, 49, 3, p.cell_of(49, 49)).size(), 3u);  // the corner touches all
  EXPECT_EQ(p.cell_of(-5, 500), p.cell_of(0, 99.9));                  // clamped into the world
}

RC_GTEST_PROP(SpatialPartitionerProps, LeavesTileTheWorldAndEveryLeafHasAWorker, ()) {
  PartitionOptions o;
  o.world = {-1000, -1000, 1000, 1000};
  o.split_load = *rc::gen::inRange<std::uint32_t>(5, 50);
  o.merge_load = o.split_load / 4;
  o.workers = *rc::gen::inRange(1, 5);
  SpatialPartitioner p(o);
  std::mt19937_64 rng(*rc::gen::arbitrary<std::uint64_t>());
  std::uniform_real_distribution<double> coord(-1000, 1000);
  std::vector<Point> pts(*rc::gen::inRange(0, 400));
  const int rounds = *rc::gen::inRange(1, 8);
  for (int round = 0; round < rounds; ++round) {
    for (auto& pt : pts)
      pt = {coord(rng) * (round % 2 ? 0.1 : 1), coord(rng)};
    const auto report = rebalance_for(p, pts);
    std::uint64_t total = 0;
    for (auto l : p.worker_loads())
      total += l;
    RC_ASSERT(total == pts.size() || report.splits > 0);
  }
  for (int i = 0; i < 200; ++i) {
    const double x = coord(rng), z = coord(rng);
    const CellId c = p.cell_of(x, z);
    RC_ASSERT(p.bounds(c).contains(x, z));
    int containing = 0;
    for (CellId l : p.leaves())
      containing += p.bounds(l).contains(x, z);
    RC_ASSERT(containing == 1);
  }
  for (CellId l : p.leaves()) {
    RC_ASSERT(p.worker_of(l) >= 0);
    RC_ASSERT(p.worker_of(l) < o.workers);
  }
}

TEST(SpatialPartitioner, UniformPlayersAreBalancedAcrossWorkers) {
  for (int workers : {2, 4}) {
    PartitionOptions o;
    o.split_load = 400;
    o.merge_load = 100;
    o.workers = workers;
    SpatialPartitioner p(o);
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> coord(-10'000, 10'000);
    std::vector<Point> pts(10'000);
    for (auto& pt : pts)
      pt = {coord(rng), coord(rng)};
    RebalanceReport r;
    for (int round = 0; round < 10; ++round)
      r = rebalance_for(p, pts);
    rebalance_for(p, pts);  // loads measured on the final tree
    r = rebalance_for(p, pts);
    EXPECT_EQ(r.splits, 0) << workers;
    EXPECT_LE(r.balance, 1.05) << workers << " workers";
  }
}

// 10 000 players walk from everywhere to one point (ending in a disc of radius 300 around it):
// the tree follows them down, no leaf stays above the split load for long, and the two workers'
// loads stay within a factor of 1.25 of the mean once the crowd has gathered.
TEST(SpatialPartitioner, ACongregationSplitsTheTreeAndStaysBalanced) {
  PartitionOptions o;
  o.split_load = 500;
  o.merge_load = 100;
  o.max_depth = 12;
  SpatialPartitioner p(o);
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> coord(-10'000, 10'000), unit(0, 1);
  const Point goal{1234, -2345};
  std::vector<Point> start(10'000), end(10'000), pts(10'000);
  for (std::size_t i = 0; i < start.size(); ++i) {
    start[i] = {coord(rng), coord(rng)};
    const double r = 300 * std::sqrt(unit(rng)), a = 6.283185307 * unit(rng);
    end[i] = {goal.x + r * std::cos(a), goal.z + r * std::sin(a)};
  }
  RebalanceReport r;
  const int steps = 40;
  for (int step = 0; step <= steps + 10; ++step) {
    const double f = std::min(1.0, static_cast<double>(step) / steps);
    for (std::size_t i = 0; i < pts.size(); ++i) {
      pts[i] = {start[i].x + (end[i].x - start[i].x) * f, start[i].z + (end[i].z - start[i].z) * f};
    }
    r = rebalance_for(p, pts);
  }
  r = rebalance_for(p, pts);
  EXPECT_EQ(r.splits, 0);
  std::map<CellId, std::uint64_t> load;
  for (const Point& pt : pts)
    ++load[p.cell_of(pt.x, pt.z)];
  for (const auto& [cell, l] : load)
    EXPECT_LE(l, o.split_load) << "cell " << cell;
  EXPECT_GT(p.leaves().size(), 20u);  // the tree went down to follow the crowd
  EXPECT_LE(r.balance, 1.25);
}

}  // namespace
}  // namespace worldline::region
