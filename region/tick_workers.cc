#include "region/tick_workers.h"

#include <stdexcept>
#include <string>

namespace worldline::region {

void SpinBarrier::arrive_and_wait() {
  // The generation is read before arriving: if the last arrival bumps it in between, the change
  // is seen and this thread does not wait for a round that has ended.
  const std::uint32_t generation = generation_.load(std::memory_order_acquire);
  if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == n_) {
    arrived_.store(0, std::memory_order_relaxed);  // published by the release below
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    return;
  }
  const auto deadline = std::chrono::steady_clock::now() + spin_;
  for (unsigned i = 1; spin_.count() > 0; ++i) {
    if (generation_.load(std::memory_order_acquire) != generation) return;
    if (i % 64 == 0 && std::chrono::steady_clock::now() >= deadline) break;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#else
    std::this_thread::yield();
#endif
  }
  while (generation_.load(std::memory_order_acquire) == generation)
    generation_.wait(generation, std::memory_order_acquire);
}

TickWorkers::TickWorkers(int n, std::chrono::microseconds spin)
    : n_(n), start_(n, spin), done_(n, spin), errors_(static_cast<std::size_t>(n)) {
  if (n < 1)
    throw std::invalid_argument("TickWorkers: need at least one worker, got " + std::to_string(n));
  for (int w = 1; w < n; ++w)
    threads_.emplace_back([this, w] { loop(w); });
}

TickWorkers::~TickWorkers() {
  stopping_ = true;
  start_.arrive_and_wait();  // releases the threads, which see stopping_ and leave
  for (auto& t : threads_)
    t.join();
}

void TickWorkers::call(int worker) {
  try {
    (*job_)(worker);
  } catch (...) {
    errors_[static_cast<std::size_t>(worker)] = std::current_exception();
  }
}

void TickWorkers::loop(int worker) {
  for (;;) {
    start_.arrive_and_wait();
    if (stopping_) return;
    call(worker);
    done_.arrive_and_wait();
  }
}

void TickWorkers::run(const std::function<void(int)>& job) {
  job_ = &job;
  start_.arrive_and_wait();
  call(0);
  done_.arrive_and_wait();
  job_ = nullptr;
  for (auto& e : errors_) {
    if (e) std::rethrow_exception(std::exchange(e, nullptr));
  }
}

}  // namespace worldline::region
