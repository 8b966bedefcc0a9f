// LwwRegister<T>: last-writer-wins register ordered by Hlc. Used for position and velocity, which
// only the entity's authority writes, so "concurrent" writes are rare and the later stamp is the
// right answer. Equal stamps (only possible with a misconfigured duplicate node id) resolve to the
// greater value so every replica still agrees.
#pragma once

#include <optional>
#include <string>

#include "crdt/hlc.h"
#include "crdt/scalar.h"

namespace worldline::crdt {

template <class T>
class LwwRegister {
 public:
  LwwRegister() = default;
  LwwRegister(T value, Hlc stamp) : value_(std::move(value)), stamp_(stamp) {}

  // Writes `v` stamped `at`; returns the delta. A write older than the current one is absorbed
  // (the delta is still returned, and joining it changes nothing).
  LwwRegister assign(T v, Hlc at) {
    LwwRegister delta(std::move(v), at);
    join(delta);
    return delta;
  }

  bool has_value() const { return value_.has_value(); }
  // REQUIRES: has_value().
  const T& value() const { return *value_; }
  const std::optional<T>& get() const { return value_; }
  const Hlc& stamp() const { return stamp_; }

  void join(const LwwRegister& other) {
    if (!other.value_) return;
    if (!value_ || stamp_ < other.stamp_ || (stamp_ == other.stamp_ && *value_ < *other.value_)) {
      value_ = other.value_;
      stamp_ = other.stamp_;
    }
  }
  friend LwwRegister join(LwwRegister a, const LwwRegister& b) {
    a.join(b);
    return a;
  }
  bool operator==(const LwwRegister&) const = default;
  std::string to_string() const {
    if (!value_) return "LwwRegister{}";
    return "LwwRegister{" + scalar_to_string(*value_) + " @" + stamp_.to_string() + "}";
  }

 private:
  std::optional<T> value_;
  Hlc stamp_;
};

}  // namespace worldline::crdt
