// The director's density map: per-period samples per cell (players averaged over ticks, actions
// per second), a bounded history, and area sums weighted by the exact overlap with each cell.
#include "region/director/density_map.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cmath>
#include <numbers>
#include <vector>

namespace worldline::region::director {
namespace {

constexpr Rect kWest{0, 0, 10, 10};
constexpr Rect kEast{10, 0, 20, 10};

TEST(DensityMap, PlayersAreTheTickMeanAndActionsArePerSecond) {
  DensityMap map({.sample_period_ms = 1000, .history_samples = 4, .max_cells = 8});
  // Period 0: three ticks; the east cell is absent from the last one (counts 0 there).
  map.observe_tick(0, std::vector<CellCount>{{1, kWest, 6, 3}, {2, kEast, 3, 1}});
  map.observe_tick(400, std::vector<CellCount>{{1, kWest, 9, 4}, {2, kEast, 3, 1}});
  map.observe_tick(800, std::vector<CellCount>{{1, kWest, 12, 5}});
  EXPECT_FALSE(map.latest_period().has_value());                     // nothing closed yet
  map.observe_tick(1000, std::vector<CellCount>{{1, kWest, 1, 1}});  // closes period 0
  ASSERT_EQ(map.latest_period(), 0);
  EXPECT_EQ(map.cell_latest(1), (DensitySample{0, 9.0, 12.0}));  // (6+9+12)/3, 12 actions in 1 s
  EXPECT_EQ(map.cell_latest(2), (DensitySample{0, 2.0, 2.0}));   // (3+3+0)/3
  EXPECT_EQ(map.cell_latest(99), (DensitySample{0, 0, 0}));
  map.flush();
  EXPECT_EQ(map.latest_period(), 1);
  EXPECT_EQ(map.cell_latest(1), (DensitySample{1, 1.0, 1.0}));
  EXPECT_EQ(map.cell_latest(2), (DensitySample{1, 0, 0}));  // absent for the whole period
}

TEST(DensityMap, ActionsPerSecondUseTheSamplePeriod) {
  DensityMap map({.sample_period_ms = 500, .history_samples = 4, .max_cells = 8});
  map.observe_sample(1200, std::vector<CellCount>{{1, kWest, 4, 10}});  // period 2
  EXPECT_EQ(map.cell_latest(1), (DensitySample{2, 4.0, 20.0}));         // 10 actions in 0.5 s
}

TEST(DensityMap, HistoryIsBoundedToTheWindow) {
  DensityMap map({.sample_period_ms = 1000, .history_samples = 3, .max_cells = 8});
  for (std::uint32_t s = 0; s < 5; ++s) {
    map.observe_sample(s * 1000, std::vector<CellCount>{{1, kWest, s, 0}});
  }
  map.observe_sample(5000, std::vector<CellCount>{{2, kEast, 7, 0}});  // cell 1 absent in 5
  const auto h = map.cell_history(1);
  ASSERT_EQ(h.size(), 2u);  // window is periods 3..5
  EXPECT_EQ(h[0], (DensitySample{3, 3.0, 0}));
  EXPECT_EQ(h[1], (DensitySample{4, 4.0, 0}));
  // Three more periods without cell 1: it leaves the window and is dropped.
  for (int s = 6; s < 8; ++s) {
    map.observe_sample(s * 1000, std::vector<CellCount>{{2, kEast, 7, 0}});
  }
  EXPECT_EQ(map.cell_history(1).size(), 0u);
  EXPECT_EQ(map.cells(), 1u);
}

TEST(DensityMap, MoreCellsThanTheBoundEvictTheStalest) {
  DensityMap map({.sample_period_ms = 1000, .history_samples = 10, .max_cells = 2});
  map.observe_sample(0, std::vector<CellCount>{{1, kWest, 1, 0}});
  map.observe_sample(1000, std::vector<CellCount>{{2, kEast, 2, 0}});
  map.observe_sample(2000, std::vector<CellCount>{{3, Rect{20, 0, 30, 10}, 3, 0}});
  EXPECT_EQ(map.cells(), 2u);
  EXPECT_EQ(map.evicted_cells(), 1u);
  EXPECT_TRUE(map.cell_history(1).empty());  // the stalest went
  EXPECT_EQ(map.cell_history(2).size(), 1u);
  EXPECT_EQ(map.cell_history(3).size(), 1u);
}

TEST(DensityMap, ACellWhoseBoundsChangeStartsAFreshHistory) {
  DensityMap map({.sample_period_ms = 1000, .history_samples = 10, .max_cells = 8});
  map.observe_sample(0, std::vector<CellCount>{{1, kWest, 5, 0}});
  map.observe_sample(1000, std::vector<CellCount>{{1, Rect{0, 0, 5, 5}, 2, 0}});  // split
  const auto h = map.cell_history(1);
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0], (DensitySample{1, 2.0, 0}));
}

TEST(DensityMap, RectangleQueriesWeighByOverlapFraction) {
  DensityMap map;
  map.observe_sample(0, std::vector<CellCount>{{1, kWest, 10, 20}, {2, kEast, 4, 8}});
  // Whole cells: exact sums.
  EXPECT_EQ(map.area_latest(Rect{0, 0, 20, 10}), (DensitySample{0, 14.0, 28.0}));
  EXPECT_EQ(map.area_latest(Rect{-5, -5, 25, 15}), (DensitySample{0, 14.0, 28.0}));
  // Right half of the west cell plus a quarter of the east one: 10/2 + 4/4.
  EXPECT_EQ(map.area_latest(Rect{5, 0, 12.5, 10}), (DensitySample{0, 6.0, 12.0}));
  EXPECT_EQ(map.area_latest(Rect{30, 30, 40, 40}), (DensitySample{0, 0, 0}));
}

TEST(DensityMap, CircleOverlapIsTheExactArea) {
  const double pi = std::numbers::pi;
  // A circle inside one cell: its area over the cell's.
  EXPECT_NEAR(DensityMap::overlap_fraction(kWest, Circle{5, 5, 2}), 4 * pi / 100, 1e-12);
  // Centred on a corner: a quarter of the circle in each of the four cells around it.
  EXPECT_NEAR(DensityMap::overlap_fraction(kWest, Circle{10, 10, 4}), 4 * pi / 100, 1e-12);
  // Centred on an edge's middle: half of it.
  EXPECT_NEAR(DensityMap::overlap_fraction(kWest, Circle{10, 5, 4}), 8 * pi / 100, 1e-12);
  // A circle covering the cell: all of it; a circle away from it: nothing.
  EXPECT_EQ(DensityMap::overlap_fraction(kWest, Circle{5, 5, 8}), 1.0);
  EXPECT_EQ(DensityMap::overlap_fraction(kWest, Circle{30, 30, 5}), 0.0);
  // A circle through the cell crossing two edges: the circular segment past x = 10 is
  // r²·acos(d/r) − d·sqrt(r² − d²) with d = 3 (the centre's distance to the edge), r = 5.
  const double segment = 25 * std::acos(3.0 / 5.0) - 3 * 4;
  EXPECT_NEAR(DensityMap::overlap_fraction(kWest, Circle{7, 5, 5}), (25 * pi - segment) / 100,
              1e-12);
  // The whole-circle sum over a 2×2 block of cells is the circle's area.
  double total = 0;
  for (const Rect& r : {kWest, kEast, Rect{0, 10, 10, 20}, Rect{10, 10, 20, 20}}) {
    total += DensityMap::overlap_fraction(r, Circle{8, 11, 3}) * 100;
  }
  EXPECT_NEAR(total, 9 * pi, 1e-12);
}

TEST(DensityMap, AreaHistorySumsEachPeriod) {
  DensityMap map({.sample_period_ms = 1000, .history_samples = 10, .max_cells = 8});
  map.observe_sample(0, std::vector<CellCount>{{1, kWest, 10, 0}});
  map.observe_sample(1000, std::vector<CellCount>{{1, kWest, 20, 0}, {2, kEast, 8, 4}});
  const auto h = map.area_history(Rect{5, 0, 15, 10});  // half of each cell
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0], (DensitySample{0, 5.0, 0}));
  EXPECT_EQ(h[1], (DensitySample{1, 14.0, 2.0}));
}

// Whatever cells and periods the caller feeds (cells reappearing, splitting, more of them than
// allowed), the map holds at most max_cells cells with at most history_samples samples each,
// every one inside the window, in increasing period order.
RC_GTEST_PROP(DensityMapLaws, MemoryStaysWithinItsBound, ()) {
  const DensityOptions o{.sample_period_ms = 1000,
                         .history_samples = *rc::gen::inRange<std::size_t>(1, 8),
                         .max_cells = *rc::gen::inRange<std::size_t>(1, 8)};
  DensityMap map(o);
  std::int64_t now = 0;
  const int steps = *rc::gen::inRange(1, 200);
  for (int s = 0; s < steps; ++s) {
    now += *rc::gen::inRange(0, 2500);
    std::vector<CellCount> cells;
    const int n = *rc::gen::inRange(0, 12);
    for (int c = 0; c < n; ++c) {
      const CellId id = *rc::gen::inRange<CellId>(0, 16);
      const double w = *rc::gen::element(5.0, 10.0);  // the same id may change bounds
      cells.push_back({id, Rect{id * 10.0, 0, id * 10.0 + w, w}, *rc::gen::inRange(0u, 50u), 1});
    }
    if (*rc::gen::inRange(0, 4) == 0) {
      map.observe_sample(now, cells);
    } else {
      map.observe_tick(now, cells);
    }
    RC_ASSERT(map.cells() <= o.max_cells);
    for (CellId id = 0; id < 16; ++id) {
      const auto h = map.cell_history(id);
      RC_ASSERT(h.size() <= o.history_samples);
      for (std::size_t i = 0; i < h.size(); ++i) {
        RC_ASSERT(h[i].period > *map.latest_period() - std::int64_t(o.history_samples));
        if (i > 0) RC_ASSERT(h[i].period > h[i - 1].period);
      }
    }
  }
  RC_ASSERT(map.memory_bound_bytes() >= o.max_cells * o.history_samples * sizeof(DensitySample));
}

}  // namespace
}  // namespace worldline::region::director
