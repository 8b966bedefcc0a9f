// DensityMap: per-cell sampling, bounded per-cell rings, and area sums weighted by the exact area
// of overlap between the query (circle or rectangle) and each cell's rectangle.
#include "region/director/density_map.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <utility>

namespace worldline::region::director {
namespace {

double rect_area(const Rect& r) {
  return std::max(0.0, r.max_x - r.min_x) * std::max(0.0, r.max_z - r.min_z);
}

double rect_overlap(const Rect& a, const Rect& b) {
  const double w = std::min(a.max_x, b.max_x) - std::max(a.min_x, b.min_x);
  const double h = std::min(a.max_z, b.max_z) - std::max(a.min_z, b.min_z);
  return w > 0 && h > 0 ? w * h : 0.0;
}

// Antiderivative of sqrt(r² - u²) on [-r, r] (u clamped to it).
double chord_primitive(double u, double r) {
  u = std::clamp(u, -r, r);
  return 0.5 * (u * std::sqrt(std::max(0.0, r * r - u * u)) + r * r * std::asin(u / r));
}

// Exact area of a circle ∩ an axis-aligned rectangle: the integral over x of the circle's vertical
// chord clipped to the rectangle's z range. Between the breakpoints (where the chord's ends cross
// the rectangle's z edges) each end is either the circle or the edge, so every piece integrates
// in closed form.
double circle_overlap(const Rect& cell, const Circle& c) {
  const double r = c.radius;
  if (!(r > 0)) return 0.0;
  const double x0 = cell.min_x - c.x, x1 = cell.max_x - c.x;
  const double z0 = cell.min_z - c.z, z1 = cell.max_z - c.z;
  const double lo = std::max(x0, -r), hi = std::min(x1, r);
  if (!(lo < hi) || !(z0 < z1)) return 0.0;
  double cuts[6] = {lo, hi, 0, 0, 0, 0};
  int n = 2;
  for (double z : {z0, z1}) {
    if (std::abs(z) < r) {
      const double u = std::sqrt(r * r - z * z);
      for (double v : {-u, u}) {
        if (v > lo && v < hi) cuts[n++] = v;
      }
    }
  }
  // An insertion sort of at most six values: GCC 12 at -O3 warns (-Warray-bounds, a false
  // positive) on std::sort over a prefix of a small array.
  for (int i = 1; i < n; ++i) {
    for (int j = i; j > 0 && cuts[j] < cuts[j - 1]; --j)
      std::swap(cuts[j], cuts[j - 1]);
  }
  double area = 0;
  for (int i = 0; i + 1 < n; ++i) {
    const double a = cuts[i], b = cuts[i + 1];
    if (!(a < b)) continue;
    const double m = 0.5 * (a + b);
    const double s = std::sqrt(std::max(0.0, r * r - m * m));
    if (std::min(z1, s) <= std::max(z0, -s)) continue;  // the chord misses the rectangle here
    const double circle = chord_primitive(b, r) - chord_primitive(a, r);
    const double top = s < z1 ? circle : z1 * (b - a);
    const double bottom = -s > z0 ? -circle : z0 * (b - a);
    area += top - bottom;
  }
  return area;
}

}  // namespace

const DensitySample* DensityMap::CellHistory::newest() const {
  if (size == 0) return nullptr;
  return &ring[(head + size - 1) % ring.size()];
}

void DensityMap::CellHistory::push(const DensitySample& s, std::size_t capacity) {
  if (ring.size() != capacity) ring.resize(capacity);
  if (size < capacity) {
    ring[(head + size) % capacity] = s;
    ++size;
  } else {
    ring[head] = s;
    head = (head + 1) % capacity;
  }
}

DensityMap::DensityMap(DensityOptions options) : options_(options) {
  options_.sample_period_ms = std::max<std::int64_t>(1, options_.sample_period_ms);
  options_.history_samples = std::max<std::size_t>(1, options_.history_samples);
  options_.max_cells = std::max<std::size_t>(1, options_.max_cells);
}

std::int64_t DensityMap::period_of(std::int64_t ms) const {
  // Floor division, so that negative clocks (tests, simulations) bucket the same way.
  const std::int64_t p = options_.sample_period_ms;
  return ms >= 0 ? ms / p : -((-ms + p - 1) / p);
}

std::int64_t DensityMap::window_start() const {
  return latest_ ? *latest_ - static_cast<std::int64_t>(options_.history_samples) + 1
                 : std::numeric_limits<std::int64_t>::min();
}

void DensityMap::observe_tick(std::int64_t now_ms, std::span<const CellCount> cells) {
  const std::int64_t period = period_of(now_ms);
  if (open_ && *open_ != period) close_open();
  if (latest_ && period <= *latest_) return;  // a closed period is not reopened
  open_ = period;
  ++open_ticks_;
  for (const CellCount& c : cells) {
    auto it = open_cells_.find(c.cell);
    if (it == open_cells_.end()) {
      if (open_cells_.size() >= options_.max_cells) continue;  // bound: more cells than allowed
      it = open_cells_.emplace(c.cell, Accumulator{c.bounds, 0, 0}).first;
    }
    it->second.bounds = c.bounds;  // the tick's own bounds win within a period
    it->second.player_ticks += c.players;
    it->second.actions += c.actions;
  }
}

void DensityMap::observe_sample(std::int64_t now_ms, std::span<const CellCount> cells) {
  close_open();
  const std::int64_t period = period_of(now_ms);
  if (latest_ && period < *latest_) return;
  latest_ = period;
  const double period_s = static_cast<double>(options_.sample_period_ms) / 1000.0;
  for (const CellCount& c : cells) {
    record(c.cell, c.bounds, DensitySample{period, double(c.players), c.actions / period_s});
  }
  drop_stale();
}

void DensityMap::flush() {
  close_open();
}

void DensityMap::close_open() {
  if (!open_) return;
  const std::int64_t period = *open_;
  const double period_s = static_cast<double>(options_.sample_period_ms) / 1000.0;
  const double ticks = static_cast<double>(open_ticks_);
  latest_ = period;
  for (const auto& [cell, acc] : open_cells_) {
    record(cell, acc.bounds,
           DensitySample{period, acc.player_ticks / ticks, acc.actions / period_s});
  }
  open_cells_.clear();
  open_.reset();
  open_ticks_ = 0;
  drop_stale();
}

void DensityMap::drop_stale() {
  // Cells whose newest sample has left the window will never be seen again: drop them.
  const std::int64_t start = window_start();
  for (auto it = cells_.begin(); it != cells_.end();) {
    const DensitySample* n = it->second.newest();
    if (!n || n->period < start) {
      it = cells_.erase(it);
    } else {
      ++it;
    }
  }
}

void DensityMap::record(CellId cell, const Rect& bounds, const DensitySample& sample) {
  auto it = cells_.find(cell);
  if (it == cells_.end()) {
    if (cells_.size() >= options_.max_cells) evict_stalest();
    it = cells_.emplace(cell, CellHistory{}).first;
    it->second.bounds = bounds;
  }
  CellHistory& h = it->second;
  if (!(h.bounds == bounds)) {
    // The partitioner split or merged: the id now covers another area, its past does not apply.
    h = CellHistory{};
    h.bounds = bounds;
  }
  if (h.size > 0) {
    DensitySample& newest = h.ring[(h.head + h.size - 1) % h.ring.size()];
    if (newest.period == sample.period) {
      newest = sample;
      return;
    }
    if (newest.period > sample.period) return;
  }
  h.push(sample, options_.history_samples);
}

void DensityMap::evict_stalest() {
  auto stalest = cells_.end();
  std::int64_t oldest = std::numeric_limits<std::int64_t>::max();
  for (auto it = cells_.begin(); it != cells_.end(); ++it) {
    const DensitySample* n = it->second.newest();
    const std::int64_t p = n ? n->period : std::numeric_limits<std::int64_t>::min();
    if (p < oldest || stalest == cells_.end()) {
      oldest = p;
      stalest = it;
    }
  }
  if (stalest != cells_.end()) {
    cells_.erase(stalest);
    ++evicted_;
  }
}

DensitySample DensityMap::cell_latest(CellId cell) const {
  DensitySample out;
  out.period = latest_.value_or(0);
  auto it = cells_.find(cell);
  if (it == cells_.end() || !latest_) return out;
  const DensitySample* n = it->second.newest();
  return n && n->period == *latest_ ? *n : out;
}

std::vector<DensitySample> DensityMap::cell_history(CellId cell) const {
  std::vector<DensitySample> out;
  auto it = cells_.find(cell);
  if (it == cells_.end()) return out;
  const CellHistory& h = it->second;
  const std::int64_t start = window_start();
  for (std::size_t i = 0; i < h.size; ++i) {
    const DensitySample& s = h.ring[(h.head + i) % h.ring.size()];
    if (s.period >= start) out.push_back(s);
  }
  return out;
}

double DensityMap::overlap_fraction(const Rect& cell, const Area& area) {
  const double total = rect_area(cell);
  if (!(total > 0)) return 0.0;
  const double covered = std::holds_alternative<Rect>(area)
                             ? rect_overlap(cell, std::get<Rect>(area))
                             : circle_overlap(cell, std::get<Circle>(area));
  return std::clamp(covered / total, 0.0, 1.0);
}

DensitySample DensityMap::area_latest(const Area& area) const {
  DensitySample out;
  out.period = latest_.value_or(0);
  if (!latest_) return out;
  for (const auto& [cell, h] : cells_) {
    const DensitySample* n = h.newest();
    if (!n || n->period != *latest_) continue;
    const double f = overlap_fraction(h.bounds, area);
    out.players += n->players * f;
    out.actions_per_s += n->actions_per_s * f;
  }
  return out;
}

std::vector<DensitySample> DensityMap::area_history(const Area& area) const {
  std::map<std::int64_t, DensitySample> by_period;
  const std::int64_t start = window_start();
  for (const auto& [cell, h] : cells_) {
    const double f = overlap_fraction(h.bounds, area);
    for (std::size_t i = 0; i < h.size; ++i) {
      const DensitySample& s = h.ring[(h.head + i) % h.ring.size()];
      if (s.period < start) continue;
      DensitySample& sum = by_period[s.period];
      sum.period = s.period;
      sum.players += s.players * f;
      sum.actions_per_s += s.actions_per_s * f;
    }
  }
  std::vector<DensitySample> out;
  out.reserve(by_period.size());
  for (const auto& [period, s] : by_period)
    out.push_back(s);
  return out;
}

std::size_t DensityMap::memory_bound_bytes() const {
  return options_.max_cells * (options_.history_samples * sizeof(DensitySample) +
                               sizeof(CellHistory) + sizeof(Accumulator) + 2 * sizeof(CellId));
}

}  // namespace worldline::region::director
