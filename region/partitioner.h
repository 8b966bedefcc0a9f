// SpatialPartitioner: the adaptive quadtree that splits the world (x, z plane) into cells, and
// the assignment of cells to worker threads. Called by the tick loop at tick boundaries only:
// report each leaf's load (entities + actions of the last tick), then rebalance(), which splits
// hot leaves, merges cold sibling quads and reassigns leaves to workers — contiguous runs along
// the Z-order (Morton) curve, cut so that each worker gets about the same load, so neighbouring
// cells tend to share a worker and few entities cross workers.
//
// Expected loads (issue #17, proactive mode): between ticks the pipeline may say that an area
// will carry a load until some tick (a forecast surge, a scheduled event). Until it expires, the
// expectation is a floor under the loads of the leaves it covers: a leaf's effective load is
// max(measured load, its share of the expectation) (expected_share()), and splitting, merging and
// the assignment to workers all judge leaves by it — so the area is split and the workers
// balanced before the crowd arrives, and the still-empty children are not merged straight back.
//
// Invariants (after every public call):
//  1. the leaves tile the world: every point is in exactly one leaf (cell_of);
//  2. every leaf has exactly one worker;
//  3. at most kMaxExpectedLoads expectations are held, at most one per area, each with a load
//     > 0, an area of positive size inside the world (clipped to it on entry) and an until_tick
//     after the last rebalance's tick (rebalance(t) uses those with until_tick ≥ t, then drops
//     those with until_tick ≤ t);
//  4. a merge never makes a leaf whose expected share exceeds split_load (it would split straight
//     back), so no split ahead is undone while its expectation holds;
//  5. after rebalance(), every leaf whose expected share exceeds split_load is at max_depth,
//     unless that rebalance used up its max_splits_ahead (the rest follow at the next ones) or the
//     tree holds max_leaves_ahead leaves (an expectation never grows it past that).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace worldline::region {

using CellId = std::uint32_t;

struct Rect {
  double min_x = 0, min_z = 0, max_x = 0, max_z = 0;
  bool operator==(const Rect&) const = default;
  bool contains(double x, double z) const {
    return x >= min_x && x < max_x && z >= min_z && z < max_z;
  }
  // Distance from (x, z) to the rectangle (0 inside).
  double distance(double x, double z) const;
};

struct PartitionOptions {
  Rect world{-10'000, -10'000, 10'000, 10'000};
  std::uint32_t split_load = 4000;  // a leaf above this splits in four
  std::uint32_t merge_load = 1000;  // four sibling leaves below this together merge
  int max_depth = 10;
  int workers = 2;
  // Splits an expectation alone may cause in one rebalance (breadth first, so a cut-off leaves
  // the area evenly split one level short): bounds the tick that absorbs a large expectation.
  int max_splits_ahead = 256;
  // No split ahead once the tree has this many leaves: an absurd expectation (a huge load over
  // the whole world) stops here instead of growing the tree to max_depth, 4^10 leaves. Splits for
  // a measured load are not bound by it.
  std::size_t max_leaves_ahead = 4096;
};

// An area expected to carry `load` (entities + actions per tick, the unit of set_load) until the
// rebalance of tick `until_tick` included.
struct ExpectedLoad {
  Rect area;
  std::uint32_t load = 0;
  std::uint64_t until_tick = 0;
  bool operator==(const ExpectedLoad&) const = default;
};

// What expect_load() did with an expectation.
enum class ExpectOutcome {
  kHeld,      // held (new, or it replaced the one held for the same area)
  kReplaced,  // held, in place of the one expiring first (kMaxExpectedLoads were held)
  kIgnored,   // load 0, or an area with no part of positive size inside the world
  kExpired,   // until_tick is not after the last rebalance's tick
};

struct RebalanceReport {
  int splits = 0;
  int merges = 0;
  int cells_moved = 0;   // leaves that changed worker
  int splits_ahead = 0;  // of `splits`: of leaves whose measured load was at most split_load
  int expired = 0;       // expectations dropped because their until_tick had passed
  double balance = 1.0;  // max worker load / mean worker load
};

class SpatialPartitioner {
 public:
  explicit SpatialPartitioner(PartitionOptions options);

  CellId cell_of(double x, double z) const;  // the leaf containing the point (clamped to world)
  int worker_of(CellId leaf) const { return nodes_[leaf].worker; }
  const Rect& bounds(CellId cell) const { return nodes_[cell].bounds; }
  std::vector<CellId> leaves() const;
  // Leaves other than `home` within `margin` of (x, z): where an entity there is a ghost.
  std::vector<CellId> ghost_cells(double x, double z, double margin, CellId home) const;
  // The same into `out` (cleared first), allocating nothing once `out` has grown. Thread-safe
  // with other const calls.
  void ghost_cells(double x, double z, double margin, CellId home, std::vector<CellId>& out) const;

  // REQUIRES: `leaf` is a leaf. Sets its load for the next rebalance().
  void set_load(CellId leaf, std::uint64_t load);
  // Expects `load` over `area` (clipped to the world) through the rebalance of `until_tick`.
  // One expectation per area: a second one for an equal area replaces the first (a refreshed
  // forecast). With kMaxExpectedLoads held, a new area replaces the one expiring first (the
  // earliest held of those on a tie) — the newest forecast is the better one.
  ExpectOutcome expect_load(const Rect& area, std::uint32_t load, std::uint64_t until_tick);
  const std::vector<ExpectedLoad>& expected_loads() const { return expected_; }
  // The largest share of any held expectation that falls on `r`: its load × the fraction of its
  // (clipped) area that r covers, i.e. the expected crowd taken as evenly spread over its area
  // (the director's own resolution). The largest, not the sum: overlapping expectations are
  // forecasts of the same players at different resolutions (a grid area and an event's square
  // inside it), not extra players.
  double expected_share(const Rect& r) const;
  // `tick`: the tick just run (expectations with until_tick < tick are ignored, and those with
  // until_tick ≤ tick dropped at the end). Splits the leaves whose effective load exceeds
  // split_load (and, below a leaf split for its expected share, the children whose own share still
  // does, down to max_depth), merges cold sibling quads one level, and assigns workers by effective
  // load. Callers holding no expectations may leave `tick` at 0.
  RebalanceReport rebalance(std::uint64_t tick = 0);
  // Effective load per worker as of the last rebalance().
  const std::vector<std::uint64_t>& worker_loads() const { return worker_loads_; }

  static constexpr std::size_t kMaxExpectedLoads = 64;

 private:
  struct Node {
    Rect bounds;
    int depth = 0;
    bool leaf = true;
    bool alive = true;
    CellId parent = 0;
    CellId children[4] = {0, 0, 0, 0};
    std::uint64_t load = 0;
    int worker = 0;
  };
  void split(CellId id);
  void merge(CellId parent);
  void assign_workers(RebalanceReport& report);
  std::uint64_t morton(const Rect& r) const;
  // max(measured load, expected share), rounded up: a share of 80.2 does exceed 80.
  std::uint64_t effective_load(CellId id) const;

  PartitionOptions options_;
  std::vector<Node> nodes_;  // node 0 is the root; dead nodes are reused
  std::vector<CellId> free_;
  std::vector<std::uint64_t> worker_loads_;
  std::vector<ExpectedLoad> expected_;  // areas already clipped to the world
  std::uint64_t last_tick_ = 0;         // of the last rebalance()
};

}  // namespace worldline::region
