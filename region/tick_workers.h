// TickWorkers: the region's worker threads. run(job) has every worker — the calling thread as
// worker 0 and n-1 threads of its own — run job(worker) once, and returns when all have finished:
// a barrier at the start and one at the end of every phase of a tick. Workers wait on the barrier
// between phases (spinning briefly, then asleep). What each worker touches is the job's to say:
// the pipeline gives each worker its own cells and their buffers (region/pipeline.h).
// Thread safety: run() from one thread at a time (the tick's coordinator).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <thread>
#include <utility>
#include <vector>

namespace worldline::region {

// A barrier for `n` threads whose waiters spin for up to `spin` before they sleep. A tick's
// phases follow each other within tens or hundreds of microseconds, and waking a sleeping thread
// takes 40–65 µs on a virtual machine (the idle vCPU has halted): a worker that spins through
// that gap starts the next phase at once. Past `spin` — between ticks — it sleeps, as
// std::barrier does, so an idle region costs no CPU.
class SpinBarrier {
 public:
  SpinBarrier(int n, std::chrono::microseconds spin) : n_(n), spin_(spin) {}
  void arrive_and_wait();

 private:
  const int n_;
  const std::chrono::microseconds spin_;
  std::atomic<int> arrived_{0};
  std::atomic<std::uint32_t> generation_{0};  // bumped by the last arrival of each round
};

class TickWorkers {
 public:
  // How long a waiting worker spins before it sleeps, unless told otherwise: longer than the
  // gaps between a tick's phases (0.05–0.3 ms of work on the calling thread), shorter than the
  // gap between ticks.
  static constexpr std::chrono::microseconds kDefaultSpin{250};

  // REQUIRES: n >= 1. `spin` 0: workers sleep at once (for hosts whose cores are busy with other
  // work).
  explicit TickWorkers(int n, std::chrono::microseconds spin = kDefaultSpin);
  ~TickWorkers();
  TickWorkers(const TickWorkers&) = delete;
  TickWorkers& operator=(const TickWorkers&) = delete;

  int size() const { return n_; }
  // Runs job(w) for every worker w in [0, size()) in parallel. An exception thrown by a job is a
  // bug: it is rethrown here after every worker has finished.
  void run(const std::function<void(int worker)>& job);

 private:
  void loop(int worker);
  void call(int worker);

  int n_;
  SpinBarrier start_, done_;
  const std::function<void(int)>* job_ = nullptr;  // set before start_, read after it
  bool stopping_ = false;                          // likewise
  std::vector<std::exception_ptr> errors_;         // one slot per worker
  std::vector<std::thread> threads_;
};

}  // namespace worldline::region
