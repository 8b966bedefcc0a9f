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

namespace {

// The intersection of two rectangles (min > max on an axis where they do not meet), and its area
// (0 when they do not meet, or meet on an edge only).
Rect intersect(const Rect& a, const Rect& b) {
  return Rect{std::max(a.min_x, b.min_x), std::max(a.min_z, b.min_z), std::min(a.max_x, b.max_x),
              std::min(a.max_z, b.max_z)};
}

double area_of(const Rect& r) {
  const double dx = r.max_x - r.min_x, dz = r.max_z - r.min_z;
  return dx > 0 && dz > 0 ? dx * dz : 0.0;  // also 0 for NaN bounds
}

}  // namespace

ExpectOutcome SpatialPartitioner::expect_load(const Rect& area, std::uint32_t load,
                                              std::uint64_t until_tick) {
  const Rect clipped = intersect(area, options_.world);
  if (load == 0 || !(area_of(clipped) > 0)) return ExpectOutcome::kIgnored;
  if (until_tick <= last_tick_) return ExpectOutcome::kExpired;
  const ExpectedLoad e{clipped, load, until_tick};
  for (ExpectedLoad& held : expected_) {
    if (held.area == clipped) {
      held = e;
      return ExpectOutcome::kHeld;
    }
  }
  if (expected_.size() < kMaxExpectedLoads) {
    expected_.push_back(e);
    return ExpectOutcome::kHeld;
  }
  // min_element returns the first of equal ones: the earliest held of those expiring first.
  auto first = std::min_element(
      expected_.begin(), expected_.end(),
      [](const ExpectedLoad& a, const ExpectedLoad& b) { return a.until_tick < b.until_tick; });
  expected_.erase(first);  // keeps the others in the order they were first held
  expected_.push_back(e);
  return ExpectOutcome::kReplaced;
}

double SpatialPartitioner::expected_share(const Rect& r) const {
  double share = 0;
  for (const ExpectedLoad& e : expected_) {
    const double covered = area_of(intersect(r, e.area));
    if (covered > 0) share = std::max(share, e.load * (covered / area_of(e.area)));
  }
  return share;
}

std::uint64_t SpatialPartitioner::effective_load(CellId id) const {
  const Node& n = nodes_[id];
  if (expected_.empty()) return n.load;
  return std::max(n.load, static_cast<std::uint64_t>(std::ceil(expected_share(n.bounds))));
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
  // Effective loads: a worker is given its share of an expected crowd before the crowd arrives.
  std::vector<std::uint64_t> loads(ls.size());
  for (std::size_t i = 0; i < ls.size(); ++i)
    loads[i] = effective_load(ls[i]);
  const std::uint64_t total = std::accumulate(loads.begin(), loads.end(), std::uint64_t{0});
  worker_loads_.assign(options_.workers, 0);
  // Cut the curve where the running load crosses each worker's share.
  std::uint64_t running = 0;
  for (std::size_t i = 0; i < ls.size(); ++i) {
    const CellId c = ls[i];
    const std::uint64_t load = loads[i];
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

RebalanceReport SpatialPartitioner::rebalance(std::uint64_t tick) {
  RebalanceReport report;
  // Expectations whose time is past are not used (those due now are, and are dropped below).
  std::erase_if(expected_, [&](const ExpectedLoad& e) {
    const bool gone = e.until_tick < tick;
    report.expired += gone;
    return gone;
  });
  const auto split_load = static_cast<double>(options_.split_load);
  // Split hot leaves: those whose measured load exceeds split_load (their children are judged
  // next tick, on their real loads), and those whose expected share does (a split ahead). Below
  // either, a child whose own expected share still exceeds split_load splits ahead at once,
  // breadth first, down to max_depth or the budget of max_splits_ahead.
  std::vector<bool> just_split(nodes_.size(), false);
  std::vector<CellId> ahead;  // children of splits, to judge by their shares in this rebalance
  int by_share = 0;           // splits for an expected share: at most max_splits_ahead
  std::size_t leaf_count = leaves().size();
  const auto may_split_ahead = [&] {
    return by_share < options_.max_splits_ahead && leaf_count + 3 <= options_.max_leaves_ahead;
  };
  const auto split_here = [&](CellId id, bool is_ahead) {
    split(id);
    leaf_count += 3;
    if (just_split.size() < nodes_.size()) just_split.resize(nodes_.size(), false);
    just_split[id] = true;
    ++report.splits;
    report.splits_ahead += is_ahead;
    // The children's shares are known now (their measured loads only next tick), whatever made
    // their parent split.
    if (!expected_.empty())
      ahead.insert(ahead.end(), std::begin(nodes_[id].children), std::end(nodes_[id].children));
  };
  for (CellId id : leaves()) {
    if (nodes_[id].depth >= options_.max_depth) continue;
    if (nodes_[id].load > options_.split_load) {
      split_here(id, false);
    } else if (!expected_.empty() && may_split_ahead() &&
               expected_share(nodes_[id].bounds) > split_load) {
      ++by_share;
      split_here(id, true);
    }
  }
  for (std::size_t i = 0; i < ahead.size() && may_split_ahead(); ++i) {
    const CellId id = ahead[i];
    // Its measured load is its parent's estimate (split()); a reactive split's child may carry
    // more than split_load of it, and is not counted as split ahead then.
    if (nodes_[id].depth < options_.max_depth && expected_share(nodes_[id].bounds) > split_load) {
      ++by_share;
      split_here(id, nodes_[id].load <= options_.split_load);
    }
  }
  // Merge cold sibling quads, bottom-up, one level per rebalance — judged by effective loads,
  // and never into a leaf whose expected share would split it again (invariant 4).
  for (CellId id = 0; id < nodes_.size(); ++id) {
    const Node& n = nodes_[id];
    if (!n.alive || n.leaf || (id < just_split.size() && just_split[id])) continue;
    bool all_leaves = true;
    std::uint64_t load = 0;
    for (CellId c : n.children) {
      all_leaves = all_leaves && nodes_[c].leaf;
      load += effective_load(c);
    }
    if (all_leaves && load < options_.merge_load &&
        (expected_.empty() || !(expected_share(n.bounds) > split_load))) {
      merge(id);
      ++report.merges;
    }
  }
  assign_workers(report);
  std::erase_if(expected_, [&](const ExpectedLoad& e) {
    const bool gone = e.until_tick <= tick;
    report.expired += gone;
    return gone;
  });
  last_tick_ = std::max(last_tick_, tick);
  return report;
}

}  // namespace worldline::region
