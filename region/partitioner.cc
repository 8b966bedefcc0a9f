#include "region/partitioner.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace worldline::region {

double Rect::distance(double x, double z) const {
  const double dx = std::max({min_x - x, 0.0, x - max_x});
  const double dz = std::max({min_z - z, 0.0, z - max_z});
  return std::sqrt(dx * dx + dz * dz);
}

SpatialPartitioner::SpatialPartitioner(PartitionOptions options) : options_(options) {
  if (options_.workers < 1) throw std::invalid_argument("SpatialPartitioner: workers < 1");
  Node root;
  root.bounds = options_.world;
  nodes_.push_back(root);
  worker_loads_.assign(options_.workers, 0);
}

CellId SpatialPartitioner::cell_of(double x, double z) const {
  const Rect& w = options_.world;
  // Clamp into the world (the maximum edge belongs to the last cell).
  x = std::clamp(x, w.min_x, std::nextafter(w.max_x, w.min_x));
  z = std::clamp(z, w.min_z, std::nextafter(w.max_z, w.min_z));
  CellId id = 0;
  while (!nodes_[id].leaf) {
    const Node& n = nodes_[id];
    const double mx = (n.bounds.min_x + n.bounds.max_x) / 2;
    const double mz = (n.bounds.min_z + n.bounds.max_z) / 2;
    id = n.children[(x >= mx ? 1 : 0) + (z >= mz ? 2 : 0)];
  }
  return id;
}

std::vector<CellId> SpatialPartitioner::leaves() const {
  std::vector<CellId> out;
  for (CellId i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].alive && nodes_[i].leaf) out.push_back(i);
  }
  return out;
}

std::vector<CellId> SpatialPartitioner::ghost_cells(double x, double z, double margin,
                                                    CellId home) const {
  std::vector<CellId> out;
  ghost_cells(x, z, margin, home, out);
  return out;
}

void SpatialPartitioner::ghost_cells(double x, double z, double margin, CellId home,
                                     std::vector<CellId>& out) const {
  out.clear();
  // Called for every entity that moves near an edge, from every worker: the walk's stack is the
  // calling thread's own, kept between calls.
  thread_local std::vector<CellId> stack;
  stack.assign(1, 0);
  while (!stack.empty()) {
    const CellId id = stack.back();
    stack.pop_back();
    const Node& n = nodes_[id];
    if (n.bounds.distance(x, z) > margin) continue;
    if (n.leaf) {
      if (id != home) out.push_back(id);
    } else {
      stack.insert(stack.end(), std::begin(n.children), std::end(n.children));
    }
  }
  std::sort(out.begin(), out.end());
}

void SpatialPartitioner::set_load(CellId leaf, std::uint64_t load) {
  if (leaf >= nodes_.size() || !nodes_[leaf].alive || !nodes_[leaf].leaf) {
    throw std::invalid_argument("set_load: " + std::to_string(leaf) + " is not a leaf");
  }
  nodes_[leaf].load = load;
}

void SpatialPartitioner::split(CellId id) {
  const Rect b = nodes_[id].bounds;
  const double mx = (b.min_x + b.max_x) / 2, mz = (b.min_z + b.max_z) / 2;
  const Rect quads[4] = {{b.min_x, b.min_z, mx, mz},
                         {mx, b.min_z, b.max_x, mz},
                         {b.min_x, mz, mx, b.max_z},
                         {mx, mz, b.max_x, b.max_z}};
  for (int q = 0; q < 4; ++q) {
    Node child;
    child.bounds = quads[q];
    child.depth = nodes_[id].depth + 1;
    child.parent = id;
    child.load = nodes_[id].load / 4;  // an estimate until the next tick reports real loads
    child.worker = nodes_[id].worker;
    CellId cid;
    if (!free_.empty()) {
      cid = free_.back();
      free_.pop_back();
      nodes_[cid] = child;
    } else {
      cid = static_cast<CellId>(nodes_.size());
      nodes_.push_back(child);
    }
    nodes_[id].children[q] = cid;
  }
  nodes_[id].leaf = false;
}

void SpatialPartitioner::merge(CellId parent) {
  Node& p = nodes_[parent];
  std::uint64_t load = 0;
  for (CellId c : p.children) {
    load += nodes_[c].load;
    nodes_[c].alive = false;
    free_.push_back(c);
  }
  p.leaf = true;
  p.load = load;
  p.worker = nodes_[p.children[0]].worker;
}

std::uint64_t SpatialPartitioner::morton(const Rect& r) const {
  const Rect& w = options_.world;
  const double cx = ((r.min_x + r.max_x) / 2 - w.min_x) / (w.max_x - w.min_x);
  const double cz = ((r.min_z + r.max_z) / 2 - w.min_z) / (w.max_z - w.min_z);
  const auto ix = static_cast<std::uint32_t>(std::clamp(cx, 0.0, 1.0) * 65535);
  const auto iz = static_cast<std::uint32_t>(std::clamp(cz, 0.0, 1.0) * 65535);
  std::uint64_t code = 0;
  for (int b = 15; b >= 0; --b)
    code = (code << 2) | (((iz >> b) & 1) << 1) | ((ix >> b) & 1);
  return code;
}

void SpatialPartitioner::assign_workers(RebalanceReport& report) {
  std::vector<CellId> ls = leaves();
  std::sort(ls.begin(), ls.end(), [&](CellId a, CellId b) {
    return morton(nodes_[a].bounds) < morton(nodes_[b].bounds);
  });
  const std::uint64_t total =
      std::accumulate(ls.begin(), ls.end(), std::uint64_t{0},
                      [&](std::uint64_t s, CellId c) { return s + nodes_[c].load; });
  worker_loads_.assign(options_.workers, 0);
  // Cut the curve where the running load crosses each worker's share.
  std::uint64_t running = 0;
  for (CellId c : ls) {
    const std::uint64_t load = nodes_[c].load;
    const double mid = static_cast<double>(running) + static_cast<double>(load) / 2;
    int w = total == 0 ? 0 : static_cast<int>(mid * options_.workers / static_cast<double>(total));
    w = std::clamp(w, 0, options_.workers - 1);
    if (nodes_[c].worker != w) ++report.cells_moved;
    nodes_[c].worker = w;
    worker_loads_[w] += load;
    running += load;
  }
  const double mean = static_cast<double>(total) / options_.workers;
  const auto max = *std::max_element(worker_loads_.begin(), worker_loads_.end());
  report.balance = mean > 0 ? static_cast<double>(max) / mean : 1.0;
}

RebalanceReport SpatialPartitioner::rebalance() {
  RebalanceReport report;
  // Split hot leaves (those just created are judged next tick, on their real loads).
  std::vector<bool> just_split(nodes_.size(), false);
  for (CellId id : leaves()) {
    if (nodes_[id].load > options_.split_load && nodes_[id].depth < options_.max_depth) {
      split(id);
      just_split[id] = true;
      ++report.splits;
    }
  }
  // Merge cold sibling quads, bottom-up, one level per rebalance.
  for (CellId id = 0; id < nodes_.size(); ++id) {
    const Node& n = nodes_[id];
    if (!n.alive || n.leaf || (id < just_split.size() && just_split[id])) continue;
    bool all_leaves = true;
    std::uint64_t load = 0;
    for (CellId c : n.children) {
      all_leaves = all_leaves && nodes_[c].leaf;
      load += nodes_[c].load;
    }
    if (all_leaves && load < options_.merge_load) {
      merge(id);
      ++report.merges;
    }
  }
  assign_workers(report);
  return report;
}

}  // namespace worldline::region
