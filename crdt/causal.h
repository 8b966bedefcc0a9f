// Causal<S>: the (dot store, causal context) pair every dot-based CRDT is made of. MvRegister,
// AwOrSet, CausalCounter and OrMap derive from it; OrMap nests their stores under one shared
// context, so a type that can live inside an OrMap must be a Causal<S> constructible from its
// parts.
#pragma once

#include <string>
#include <utility>

#include "crdt/causal_context.h"
#include "crdt/dot_store.h"

namespace worldline::crdt {

template <class S>
class Causal {
 public:
  using Store = S;

  Causal() = default;
  Causal(S store, CausalContext context) : store_(std::move(store)), ctx_(std::move(context)) {}

  const S& store() const { return store_; }
  const CausalContext& context() const { return ctx_; }
  // Moves the parts out (OrMap uses this to lend a nested value its shared context).
  S take_store() { return std::move(store_); }
  CausalContext take_context() { return std::move(ctx_); }

  bool is_bottom() const { return crdt::is_bottom(store_) && ctx_.empty(); }

 protected:
  void join_parts(const Causal& other) {
    join_store(store_, ctx_, other.store_, other.ctx_);
    ctx_.join(other.ctx_);
  }
  bool parts_equal(const Causal& other) const {
    return store_ == other.store_ && ctx_ == other.ctx_;
  }
  std::string parts_to_string() const { return store_to_string(store_) + " " + ctx_.to_string(); }

  S store_{};
  CausalContext ctx_;
};

}  // namespace worldline::crdt
