// DensityMap: how many players stand in each cell and how many actions they make, sampled once a
// sample period into a bounded per-cell history, and the same summed over an area (a circle or a
// rectangle). The director's view of where the crowd is and where it was; fed by the tick loop.
//
// Invariants (after every public call):
//  1. at most `max_cells` cells are held, each with at most `history_samples` samples, so the
//     memory is bounded by memory_bound_bytes() whatever the caller feeds;
//  2. a cell's samples are in strictly increasing period order, all with the cell's current bounds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <unordered_map>
#include <variant>
#include <vector>

#include "region/partitioner.h"

namespace worldline::region::director {

// One cell's counts as the caller saw them: over one tick (observe_tick) or one whole sample
// period (observe_sample).
struct CellCount {
  CellId cell = 0;
  Rect bounds;                // x/z rectangle the cell covers
  std::uint32_t players = 0;  // players inside the cell
  std::uint32_t actions = 0;  // actions processed in the cell over the tick or period
};

struct Circle {
  double x = 0, z = 0, radius = 0;
};
// An area query in the x/z plane.
using Area = std::variant<Circle, Rect>;

struct DensityOptions {
  std::int64_t sample_period_ms = 1000;  // one sample a second
  std::size_t history_samples = 120;     // per cell: two minutes at one sample a second
  std::size_t max_cells = 4096;          // cells held; the stalest is evicted beyond it
};

// One sample period of one cell or one area.
struct DensitySample {
  std::int64_t period = 0;   // period index: the period starts at period * sample_period_ms
  double players = 0;        // mean over the period's ticks (a tick without the cell counts 0)
  double actions_per_s = 0;  // actions in the period / the period's length in seconds
  bool operator==(const DensitySample&) const = default;
};

class DensityMap {
 public:
  explicit DensityMap(DensityOptions options = {});

  // One tick's counts. Ticks of the same period accumulate; the first tick of a later period
  // closes the open one. A cell absent from a tick counts 0 players and 0 actions for that tick.
  // REQUIRES: now_ms does not decrease across calls; options().sample_period_ms > 0.
  void observe_tick(std::int64_t now_ms, std::span<const CellCount> cells);
  // A whole period's counts at once (players as they were, actions over the period); closes the
  // open period first and this one right after. A period sampled twice keeps the later counts.
  void observe_sample(std::int64_t now_ms, std::span<const CellCount> cells);
  // Closes the open period, if any, so that queries see it; later ticks of that period are
  // ignored (a closed period is never reopened).
  void flush();

  // The newest closed period, if any.
  std::optional<std::int64_t> latest_period() const { return latest_; }
  // A cell's sample for the newest closed period (zeros when the cell had none).
  DensitySample cell_latest(CellId cell) const;
  // A cell's samples within the history window, oldest first; periods it was absent are missing.
  std::vector<DensitySample> cell_history(CellId cell) const;

  // Players and actions/s in an area for the newest closed period: the sum over cells of the
  // cell's counts times the fraction of the cell's rectangle the area covers, i.e. players are
  // taken as spread evenly over their cell. Exact for areas made of whole cells.
  DensitySample area_latest(const Area& area) const;
  // The same for every period in the history window that has a sample in some cell, oldest first.
  std::vector<DensitySample> area_history(const Area& area) const;

  // The fraction (0..1) of `cell`'s area that `area` covers; 0 for an empty cell.
  static double overlap_fraction(const Rect& cell, const Area& area);

  std::size_t cells() const { return cells_.size(); }
  std::uint64_t evicted_cells() const { return evicted_; }
  // Upper bound of the held samples and accumulators in bytes (container overheads aside):
  // max_cells × (history_samples × sizeof(DensitySample) + per-cell bookkeeping).
  std::size_t memory_bound_bytes() const;
  const DensityOptions& options() const { return options_; }

 private:
  struct Accumulator {
    Rect bounds;
    double player_ticks = 0;  // sum over the open period's ticks of the cell's players
    double actions = 0;
  };
  // A fixed-capacity ring of one cell's samples (oldest overwritten).
  struct CellHistory {
    Rect bounds;
    std::vector<DensitySample> ring;  // capacity history_samples, allocated once
    std::size_t head = 0;             // index of the oldest sample
    std::size_t size = 0;
    const DensitySample* newest() const;
    void push(const DensitySample& s, std::size_t capacity);
  };

  void close_open();
  void record(CellId cell, const Rect& bounds, const DensitySample& sample);
  void evict_stalest();
  void drop_stale();  // cells whose newest sample left the window
  std::int64_t period_of(std::int64_t ms) const;
  std::int64_t window_start() const;  // oldest period inside the history window

  DensityOptions options_;
  std::optional<std::int64_t> open_;  // the period being accumulated
  std::uint64_t open_ticks_ = 0;
  std::unordered_map<CellId, Accumulator> open_cells_;  // at most max_cells
  std::unordered_map<CellId, CellHistory> cells_;       // at most max_cells
  std::optional<std::int64_t> latest_;
  std::uint64_t evicted_ = 0;
};

}  // namespace worldline::region::director
