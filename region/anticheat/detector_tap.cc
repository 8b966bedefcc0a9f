#include "region/anticheat/detector_tap.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include <sys/resource.h>
#include <unistd.h>

namespace worldline::region::anticheat {

namespace {
std::atomic<std::uint64_t> next_tap_id{1};
}  // namespace

DetectorTap::DetectorTap(Detector& detector, bool own_thread, std::size_t max_lag_ticks, int nice)
    : detector_(detector),
      max_lag_(std::max<std::size_t>(1, max_lag_ticks)),
      nice_(std::clamp(nice, 0, 19)),
      id_(next_tap_id.fetch_add(1)) {
  if (own_thread) thread_ = std::thread([this] { run(); });
}

DetectorTap::~DetectorTap() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();  // run() observes what is queued before it returns
}

DetectorTap::Buffer& DetectorTap::local_buffer() {
  // Each thread remembers its buffers in the last few taps it fed, by tap id (a tap's address may
  // be reused by a later one; its id never is). A thread that forgets one gets a new buffer:
  // correct (see the header on order), only a little more to collect.
  thread_local std::vector<std::pair<std::uint64_t, Buffer*>> mine;
  for (const auto& [id, buffer] : mine)
    if (id == id_) return *buffer;
  std::lock_guard<std::mutex> lock(buffers_mutex_);
  buffers_.push_back(std::make_unique<Buffer>());
  if (mine.size() >= 8) mine.erase(mine.begin());
  mine.emplace_back(id_, buffers_.back().get());
  return *buffers_.back();
}

void DetectorTap::observe(const Action& a, const Outcome& o, std::uint64_t tick) {
  Observation& x = local_buffer().observed.emplace_back();
  x.actor = a.actor;
  x.tick = tick;
  x.client_seq = a.client_seq;
  x.client_time_ms = a.client_time_ms;
  x.stamp = a.stamp;
  x.position = a.position;
  x.aim = a.aim;
  x.target = a.target;
  x.asked = o.asked;
  x.granted = o.granted;
  x.reach = o.reach;
  x.aim_error_deg = o.aim_error_deg;
  x.kind = a.kind;
  x.limit = o.limit;
  x.ok = o.ok;
}

void DetectorTap::end_tick() {
  Batch batch;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!spare_.empty()) {
      batch = std::move(spare_.back());
      spare_.pop_back();
    }
  }
  std::size_t n = 0;
  {
    std::lock_guard<std::mutex> lock(buffers_mutex_);
    batch.resize(buffers_.size());
    for (std::size_t i = 0; i < buffers_.size(); ++i) {
      batch[i].clear();  // a spare's capacity goes back to the thread's buffer
      batch[i].swap(buffers_[i]->observed);
      n += batch[i].size();
    }
  }
  if (n == 0) {
    std::lock_guard<std::mutex> lock(mutex_);
    spare_.push_back(std::move(batch));
    return;
  }
  if (!thread_.joinable()) {
    replay(batch);
    std::lock_guard<std::mutex> lock(mutex_);
    ++stats_.batches;
    stats_.observations += n;
    spare_.push_back(std::move(batch));
    return;
  }
  std::unique_lock<std::mutex> lock(mutex_);
  if (queue_.size() >= max_lag_) {
    ++stats_.waits;
    changed_.wait(lock, [this] { return queue_.size() < max_lag_; });
  }
  queue_.push_back(std::move(batch));
  ++stats_.batches;
  stats_.observations += n;
  lock.unlock();
  changed_.notify_all();
}

void DetectorTap::drain() {
  if (!thread_.joinable()) return;
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [this] { return queue_.empty() && !busy_; });
}

void DetectorTap::while_idle(const std::function<void(Detector&)>& fn) {
  drain();  // what was handed over belongs to ticks before fn: observed before it
  std::lock_guard<std::mutex> lock(detector_mutex_);
  fn(detector_);
}

DetectorTapStats DetectorTap::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  DetectorTapStats s = stats_;
  s.behind = queue_.size() + (busy_ ? 1 : 0);
  return s;
}

void DetectorTap::run() {
  if (nice_ != 0) {
    // Linux applies a niceness set on a thread id to that thread alone. Raising one's own
    // niceness needs no privilege; it fails only where the process may not (e.g. a seccomp
    // sandbox), and the detector then runs at the loop's priority — said in stats().
    const int set = setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), nice_);
    const std::string error = set == 0 ? std::string() : std::strerror(errno);
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.nice = set == 0 ? nice_ : 0;
    stats_.nice_error = error;
  }
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    changed_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and everything handed over is observed
    Batch batch = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    changed_.notify_all();  // a waiting end_tick() may go on
    const auto t0 = std::chrono::steady_clock::now();
    replay(batch);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    lock.lock();
    busy_ = false;
    stats_.detector_ms += ms;
    spare_.push_back(std::move(batch));
    changed_.notify_all();  // drain()
  }
}

void DetectorTap::replay(const Batch& batch) {
  std::lock_guard<std::mutex> idle(detector_mutex_);
  Action a;
  Outcome o;
  for (const auto& buffer : batch) {
    for (const Observation& x : buffer) {
      a.actor = x.actor;
      a.kind = x.kind;
      a.client_seq = x.client_seq;
      a.client_time_ms = x.client_time_ms;
      a.stamp = x.stamp;
      a.position = x.position;
      a.aim = x.aim;
      a.target = x.target;
      o.asked = x.asked;
      o.granted = x.granted;
      o.reach = x.reach;
      o.aim_error_deg = x.aim_error_deg;
      o.limit = x.limit;
      o.ok = x.ok;
      detector_.observe(a, o, x.tick);
    }
  }
}

}  // namespace worldline::region::anticheat
