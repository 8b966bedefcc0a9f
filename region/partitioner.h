// SpatialPartitioner: the adaptive quadtree that splits the world (x, z plane) into cells, and
// the assignment of cells to worker threads. Called by the tick loop at tick boundaries only:
// report each leaf's load (entities + actions of the last tick), then rebalance(), which splits
// hot leaves, merges cold sibling quads and reassigns leaves to workers — contiguous runs along
// the Z-order (Morton) curve, cut so that each worker gets about the same load, so neighbouring
// cells tend to share a worker and few entities cross workers.
//
// Invariants (after every public call):
//  1. the leaves tile the world: every point is in exactly one leaf (cell_of);
//  2. every leaf has exactly one worker.
#pragma once

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
};

struct RebalanceReport {
  int splits = 0;
  int merges = 0;
  int cells_moved = 0;   // leaves that changed worker
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
  RebalanceReport rebalance();
  // Load per worker as of the last rebalance().
  const std::vector<std::uint64_t>& worker_loads() const { return worker_loads_; }

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

  PartitionOptions options_;
  std::vector<Node> nodes_;  // node 0 is the root; dead nodes are reused
  std::vector<CellId> free_;
  std::vector<std::uint64_t> worker_loads_;
};

}  // namespace worldline::region
