// TickWorkers and its SpinBarrier: every worker runs every job exactly once, whether the workers
// are still spinning from the last phase or asleep; a job's exception comes back from run() and
// the workers go on; the pool stops cleanly from either state.
#include "region/tick_workers.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

namespace worldline::region {
namespace {

using std::chrono::microseconds;

TEST(TickWorkers, EveryWorkerRunsEveryJobOnceWhetherSpinningOrAsleep) {
  for (const auto& [n, spin] :
       {std::pair{1, TickWorkers::kDefaultSpin}, std::pair{2, TickWorkers::kDefaultSpin},
        std::pair{3, TickWorkers::kDefaultSpin}, std::pair{2, microseconds{0}}}) {
    TickWorkers workers(n, spin);                           // spin 0: the workers sleep at once
    std::vector<int> runs(static_cast<std::size_t>(n), 0);  // each slot written by its worker only
    std::atomic<int> total{0};
    // Gaps between runs: none, inside the spin (the workers are still spinning), and past it
    // (they have gone to sleep and must be woken).
    const microseconds gaps[] = {microseconds{0}, microseconds{50}, microseconds{2000}};
    int expected = 0;
    for (int round = 0; round < 60; ++round) {
      std::this_thread::sleep_for(gaps[round % 3]);
      const int phase = round;
      workers.run([&](int w) {
        ASSERT_GE(w, 0);
        ASSERT_LT(w, n);
        ++runs[static_cast<std::size_t>(w)];
        total.fetch_add(phase, std::memory_order_relaxed);
      });
      expected += phase * n;
      // run() returned: every worker has finished this round's job.
      for (int w = 0; w < n; ++w)
        ASSERT_EQ(runs[static_cast<std::size_t>(w)], round + 1) << "worker " << w << " of " << n;
      ASSERT_EQ(total.load(), expected);
    }
  }
}

TEST(TickWorkers, AJobsExceptionComesBackFromRunAndTheWorkersGoOn) {
  TickWorkers workers(2);
  EXPECT_THROW(workers.run([](int w) {
    if (w == 1) throw std::runtime_error("worker 1 failed");
  }),
               std::runtime_error);
  std::atomic<int> ran{0};
  workers.run([&](int) { ran.fetch_add(1); });
  EXPECT_EQ(ran.load(), 2);
}

TEST(TickWorkers, StopsWhetherItsWorkersSpinOrSleep) {
  {
    TickWorkers spinning(2);
    spinning.run([](int) {});
  }  // destroyed at once: worker 1 is still spinning on the barrier
  {
    TickWorkers sleeping(2);
    sleeping.run([](int) {});
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }           // worker 1 has gone to sleep
  SUCCEED();  // reaching here means both joined (a lost wake-up would hang the test)
}

TEST(SpinBarrier, ReleasesEveryRoundOnlyWhenAllHaveArrived) {
  constexpr int kThreads = 3, kRounds = 200;
  SpinBarrier barrier(kThreads, microseconds{20});
  std::atomic<int> arrivals{0};
  std::atomic<bool> early{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < kRounds; ++round) {
        if ((round + t) % 7 == 0) std::this_thread::sleep_for(microseconds{100});
        arrivals.fetch_add(1);
        barrier.arrive_and_wait();
        // Past the barrier, every thread has arrived for this round.
        if (arrivals.load() < (round + 1) * kThreads) early = true;
        barrier.arrive_and_wait();  // nobody starts the next round before all have checked
      }
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_FALSE(early.load());
  EXPECT_EQ(arrivals.load(), kThreads * kRounds);
}

}  // namespace
}  // namespace worldline::region
