#include "replica/send_queue.h"

#include <stdexcept>
#include <utility>

namespace worldline::replica {

void SendQueue::push(Message m) {
  if (!m.part()) {
    if (control_bytes_ + m.bytes.size() > limits_.control_waiting_bytes) {
      ++counts_.dropped;
      return;
    }
    control_bytes_ += m.bytes.size();
    control_.push_back(std::move(m));
    return;
  }
  if (!parts_.empty() && parts_.front().transmission != m.transmission) {
    counts_.superseded += parts_.size();
    parts_.clear();
    parts_bytes_ = 0;
  }
  if (parts_bytes_ + m.bytes.size() > limits_.parts_waiting_bytes) {
    ++counts_.dropped;
    return;
  }
  parts_bytes_ += m.bytes.size();
  parts_.push_back(std::move(m));
}

std::optional<SendQueue::Message> SendQueue::next() {
  if (!control_.empty() && control_in_flight_ < limits_.control_in_flight) {
    Message m = std::move(control_.front());
    control_.pop_front();
    control_bytes_ -= m.bytes.size();
    ++control_in_flight_;
    return m;
  }
  if (!parts_.empty() && parts_in_flight_ < limits_.parts_in_flight) {
    Message m = std::move(parts_.front());
    parts_.pop_front();
    parts_bytes_ -= m.bytes.size();
    ++parts_in_flight_;
    return m;
  }
  return std::nullopt;
}

void SendQueue::answered(bool part) {
  std::size_t& n = part ? parts_in_flight_ : control_in_flight_;
  if (n == 0) throw std::logic_error("SendQueue::answered with nothing in flight in that lane");
  --n;
  ++counts_.answered;
}

void SendQueue::failed(bool part) {
  std::size_t& n = part ? parts_in_flight_ : control_in_flight_;
  if (n == 0) throw std::logic_error("SendQueue::failed with nothing in flight in that lane");
  --n;
  ++counts_.failed;
}

void SendQueue::reset() {
  counts_.dropped += parts_.size() + control_.size();
  counts_.failed += parts_in_flight_ + control_in_flight_;
  parts_.clear();
  control_.clear();
  parts_bytes_ = control_bytes_ = 0;
  parts_in_flight_ = control_in_flight_ = 0;
}

}  // namespace worldline::replica
