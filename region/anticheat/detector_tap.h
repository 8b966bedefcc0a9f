// DetectorTap: the cheat detection off the tick's path. The pipeline's workers hand the tap each
// action and the outcome of its actor's half (observe(): a copy of what the Detector reads, into
// a buffer of the calling thread's own — no lock, no cache line shared with another worker);
// end_tick(), on the node's loop thread after the tick, hands the tick's buffers to the
// detector's own thread, which runs Detector::observe on them while the next tick runs. The tick
// pays for a copy per action, not for the checks (docs/anticheat.md, "Cost"). Without a thread
// of its own (tests, the evaluation's replays) end_tick() runs the detector inline, with the
// same results.
//
// Order: one actor's observations reach the detector in the order the pipeline processed them
// (within a tick they come from one thread, so they sit in one buffer in order — or, should the
// thread's buffer change mid-tick, in two buffers replayed in the order they were made; batches
// in tick order; one detector thread). Different actors' may interleave differently from the
// pipeline's; the detector keeps nothing across players that order could change but the order
// of the flags it raises.
// Flags come out of the Detector (take_flags(), any thread) up to a few ticks later than inline.
// Back-pressure: when max_lag_ticks batches wait (one more may be being observed), end_tick()
// waits for the detector thread (the tick pays; counted in stats().waits) — evidence is never
// dropped. The detector runs on one thread: past the load it keeps up with in one tick period,
// every tick waits (worldline_anticheat_waits_total says so).
// Thread safety: observe() from any worker during the tick; end_tick(), drain() and
// while_idle() from one thread (the node's loop), never during a tick (the pipeline's end of
// tick orders the workers' writes to their buffers before end_tick() reads them); stats() from
// any thread.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "region/action_observer.h"
#include "region/anticheat/detector.h"

namespace worldline::region::anticheat {

// What the Detector reads of one action and its actor's half (detector.cc, aim.cc).
struct Observation {
  ActorId actor = 0;
  std::uint64_t tick = 0, client_seq = 0, client_time_ms = 0;
  crdt::Hlc stamp;
  crdt::Vec3 position;
  std::optional<crdt::Vec3> aim;
  crdt::EntityId target = 0;
  float asked = 0, granted = 0, reach = -1, aim_error_deg = -1;
  ActionKind kind = ActionKind::kMove;
  Limit limit = Limit::kNone;
  bool ok = false;
};

struct DetectorTapStats {
  std::uint64_t batches = 0;       // ticks handed to the detector
  std::uint64_t observations = 0;  // actions in them
  std::uint64_t waits = 0;         // end_tick() calls that waited for a lagging detector
  std::uint64_t behind = 0;        // batches handed over and not yet observed, now
  double detector_ms = 0;          // time the detector thread spent observing, in all
  // The detector thread's niceness as set (the constructor's; 0 if setting it failed or there is
  // no thread); nice_error: why setting it failed (empty: it did not).
  int nice = 0;
  std::string nice_error;
};

class DetectorTap final : public ActionObserver {
 public:
  // REQUIRES: detector outlives the tap. own_thread: run the detector on a thread of the tap's;
  // false: end_tick() runs it inline. max_lag_ticks ≥ 1. nice (0..19): the detector thread's
  // niceness (Linux: per thread). At 19 the scheduler gives the tick's workers and the loop the
  // cores whenever they are runnable, so the detector works in the tick period's idle time
  // instead of beside the tick; the back-pressure above bounds how far it may fall behind.
  DetectorTap(Detector& detector, bool own_thread, std::size_t max_lag_ticks = 8, int nice = 0);
  ~DetectorTap();  // observes what was handed over, then joins the thread
  DetectorTap(const DetectorTap&) = delete;
  DetectorTap& operator=(const DetectorTap&) = delete;

  void observe(const Action& action, const Outcome& actor_half, std::uint64_t tick) override;
  // The tick's observations to the detector (its thread, or inline).
  void end_tick();
  // Returns once every observation handed over has been observed.
  void drain();
  // Runs fn with the detector idle (no observe() running): Detector::set_calibration's
  // requirement. Everything handed over before is observed first (drain()), so fn acts from the
  // next tick on, as with the detector inline.
  void while_idle(const std::function<void(Detector&)>& fn);
  DetectorTapStats stats() const;
  bool own_thread() const { return thread_.joinable(); }

 private:
  // One thread's observations of this tick, in processing order: written by that thread only,
  // during the tick; read and swapped by end_tick() between ticks.
  struct alignas(64) Buffer {
    std::vector<Observation> observed;
  };
  using Batch = std::vector<std::vector<Observation>>;  // the buffers' contents, in their order

  Buffer& local_buffer();  // the calling thread's (made on its first observe())
  void run();              // the detector thread
  void replay(const Batch& batch);

  Detector& detector_;
  const std::size_t max_lag_;
  const int nice_;
  const std::uint64_t id_;  // unique among the taps of this process: the threads' buffer key
  std::mutex buffers_mutex_;
  std::vector<std::unique_ptr<Buffer>> buffers_;  // GUARDED_BY(buffers_mutex_), in making order

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Batch> queue_;    // GUARDED_BY(mutex_): handed over, oldest first
  std::vector<Batch> spare_;   // GUARDED_BY(mutex_): observed batches, their capacity reused
  bool busy_ = false;          // GUARDED_BY(mutex_): the detector thread holds a batch
  bool stopping_ = false;      // GUARDED_BY(mutex_)
  DetectorTapStats stats_;     // GUARDED_BY(mutex_)
  std::mutex detector_mutex_;  // held while the detector observes, and by while_idle()
  std::thread thread_;
};

}  // namespace worldline::region::anticheat
