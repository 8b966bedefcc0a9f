// PairwiseMailbox<T>: messages between the region's workers inside a tick, one list per
// (sender, receiver) pair. The pipeline uses it for what one phase hands the next across workers:
// interactions forwarded to the target's cell, grid insertions, actors handed over.
//
// Thread safety, with no lock: during one phase each worker posts only from itself (its row);
// during a later phase, after TickWorkers' barrier, each worker drains only what was posted to
// itself (its column). size() reads every list: REQUIRES that no worker is posting or draining.
// A drained list keeps its capacity, so once the first ticks have sized them posting allocates
// nothing.
#pragma once

#include <cassert>
#include <cstddef>
#include <utility>
#include <vector>

namespace worldline::region {

template <typename T>
class PairwiseMailbox {
 public:
  // REQUIRES: parties >= 1 (the number of workers).
  explicit PairwiseMailbox(int parties) : lists_(static_cast<std::size_t>(parties)) {
    for (auto& row : lists_)
      row.resize(static_cast<std::size_t>(parties));  // not copied from one: T may be move-only
  }

  int parties() const { return static_cast<int>(lists_.size()); }

  // Appends a T made from `args` to the list from `from` to `to`, and returns it.
  template <typename... Args>
  T& post(int from, int to, Args&&... args) {
    return list(from, to).emplace_back(std::forward<Args>(args)...);
  }

  // Calls f(T&) on every message posted to `to` — senders in ascending order, each sender's in
  // the order posted; f may move from it — then empties those lists.
  template <typename F>
  void drain(int to, F&& f) {
    for (int from = 0; from < parties(); ++from) {
      std::vector<T>& l = list(from, to);
      for (T& message : l)
        f(message);
      l.clear();
    }
  }

  // Messages posted and not yet drained, over every pair.
  std::size_t size() const {
    std::size_t n = 0;
    for (const auto& from : lists_) {
      for (const auto& to : from)
        n += to.size();
    }
    return n;
  }

 private:
  std::vector<T>& list(int from, int to) {
    assert(from >= 0 && from < parties() && to >= 0 && to < parties());
    return lists_[static_cast<std::size_t>(from)][static_cast<std::size_t>(to)];
  }

  // [from][to]: each sender's row is its own allocation, as the hand-written lists were.
  std::vector<std::vector<std::vector<T>>> lists_;
};

}  // namespace worldline::region
