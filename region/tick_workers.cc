#include "region/tick_workers.h"

#include <stdexcept>
#include <string>

namespace worldline::region {

TickWorkers::TickWorkers(int n) : n_(n), start_(n), done_(n), errors_(static_cast<std::size_t>(n)) {
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
