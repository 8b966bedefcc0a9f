// The laws every CRDT type promises, as reusable rapidcheck properties. A Model names a type and
// how to mutate it at random:
//   using Type = ...;
//   static Type bottom();
//   static std::optional<Type> mutate(Type& state, ReplicaId r, HlcClock& clock);  // → delta
// A history runs random mutations on three replicas, interleaved with full-state merges and
// delta deliveries (possibly stale or duplicated), and keeps every delta produced.
#pragma once

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <array>
#include <memory>
#include <optional>
#include <vector>

#include "crdt/codec.h"
#include "crdt/hlc.h"

namespace worldline::crdt::laws {

template <class T>
void require_equal(const T& a, const T& b, const char* what) {
  if (!(a == b)) RC_FAIL(std::string(what) + ":\n  " + a.to_string() + "\n  " + b.to_string());
}

template <class Model>
struct History {
  using T = typename Model::Type;
  std::vector<T> replicas;
  std::vector<T> deltas;
};

template <class Model>
History<Model> run_history(int max_steps = 40) {
  using T = typename Model::Type;
  History<Model> h;
  h.replicas.assign(3, Model::bottom());
  std::array<std::unique_ptr<ManualClock>, 3> wall;
  std::vector<HlcClock> clocks;
  for (int i = 0; i < 3; ++i) {
    wall[i] = std::make_unique<ManualClock>(*rc::gen::inRange<std::uint64_t>(1, 20));
    clocks.emplace_back(static_cast<NodeId>(i + 1), *wall[i], 1000);
  }
  const int steps = *rc::gen::inRange(0, max_steps);
  for (int step = 0; step < steps; ++step) {
    const int r = *rc::gen::inRange(0, 3);
    const int kind = *rc::gen::inRange(0, 6);
    if (kind == 0) {
      h.replicas[r].join(h.replicas[*rc::gen::inRange(0, 3)]);  // anti-entropy: full state
    } else if (kind == 1 && !h.deltas.empty()) {
      // Delta delivery: any delta, in any order, possibly a duplicate or stale one.
      h.replicas[r].join(h.deltas[*rc::gen::inRange<std::size_t>(0, h.deltas.size())]);
    } else {
      wall[r]->advance(*rc::gen::inRange<std::uint64_t>(0, 3));
      const T before = h.replicas[r];
      std::optional<T> delta =
          Model::mutate(h.replicas[r], static_cast<ReplicaId>(r + 1), clocks[r]);
      if (!delta) {
        require_equal(h.replicas[r], before, "a refused mutation changed the state");
        continue;
      }
      // s' = s ⊔ d: the delta carries exactly the mutation.
      require_equal(join(before, *delta), h.replicas[r], "state before ⊔ delta == state after");
      h.deltas.push_back(std::move(*delta));
    }
  }
  return h;
}

template <class Model>
void join_is_commutative() {
  auto h = run_history<Model>();
  require_equal(join(h.replicas[0], h.replicas[1]), join(h.replicas[1], h.replicas[0]),
                "a ⊔ b == b ⊔ a");
}

template <class Model>
void join_is_associative() {
  auto h = run_history<Model>();
  const auto& [a, b, c] = std::tie(h.replicas[0], h.replicas[1], h.replicas[2]);
  require_equal(join(join(a, b), c), join(a, join(b, c)), "(a ⊔ b) ⊔ c == a ⊔ (b ⊔ c)");
}

template <class Model>
void join_is_idempotent() {
  auto h = run_history<Model>();
  for (const auto& s : h.replicas)
    require_equal(join(s, s), s, "a ⊔ a == a");
}

template <class Model>
void delta_is_below_state_after_mutation() {
  auto state = run_history<Model>().replicas[0];
  ManualClock wall(*rc::gen::inRange<std::uint64_t>(0, 100));
  HlcClock clock(1, wall, 1000);
  auto delta = Model::mutate(state, 1, clock);
  RC_PRE(delta.has_value());
  require_equal(join(state, *delta), state, "delta ⊑ state after the mutation");
}

template <class Model>
void deltas_in_any_order_equal_full_state_join() {
  auto h = run_history<Model>();
  auto shuffled = h.deltas;
  for (std::size_t i = shuffled.size(); i > 1; --i) {
    std::swap(shuffled[i - 1], shuffled[*rc::gen::inRange<std::size_t>(0, i)]);
  }
  // Duplicate some deliveries.
  const std::size_t dups = shuffled.empty() ? 0 : *rc::gen::inRange<std::size_t>(0, 5);
  for (std::size_t i = 0; i < dups; ++i) {
    shuffled.push_back(shuffled[*rc::gen::inRange<std::size_t>(0, shuffled.size())]);
  }
  auto fresh = Model::bottom();
  for (const auto& d : shuffled)
    fresh.join(d);
  auto all = join(join(h.replicas[0], h.replicas[1]), h.replicas[2]);
  require_equal(fresh, all, "⊔ of deltas in any order == ⊔ of full states");
}

template <class Model>
void decode_of_encode_is_identity() {
  using T = typename Model::Type;
  auto h = run_history<Model>();
  auto check = [](const T& x) {
    auto back = decode<T>(encode(x));
    if (!back) RC_FAIL("decode failed: " + back.error().to_string() + " for " + x.to_string());
    require_equal(back.value(), x, "decode(encode(x)) == x");
  };
  for (const auto& s : h.replicas)
    check(s);
  for (const auto& d : h.deltas)
    check(d);
}

}  // namespace worldline::crdt::laws

#define WORLDLINE_CRDT_LAWS(Name, Model)                                            \
  RC_GTEST_PROP(Name##Laws, JoinIsCommutative, ()) {                                \
    ::worldline::crdt::laws::join_is_commutative<Model>();                          \
  }                                                                                 \
  RC_GTEST_PROP(Name##Laws, JoinIsAssociative, ()) {                                \
    ::worldline::crdt::laws::join_is_associative<Model>();                          \
  }                                                                                 \
  RC_GTEST_PROP(Name##Laws, JoinIsIdempotent, ()) {                                 \
    ::worldline::crdt::laws::join_is_idempotent<Model>();                           \
  }                                                                                 \
  RC_GTEST_PROP(Name##Laws, DeltaIsBelowStateAfterMutation, ()) {                   \
    ::worldline::crdt::laws::delta_is_below_state_after_mutation<Model>();          \
  }                                                                                 \
  RC_GTEST_PROP(Name##Laws, DeltasInAnyOrderWithDuplicatesEqualFullStateJoin, ()) { \
    ::worldline::crdt::laws::deltas_in_any_order_equal_full_state_join<Model>();    \
  }                                                                                 \
  RC_GTEST_PROP(Name##Laws, DecodeOfEncodeIsIdentity, ()) {                         \
    ::worldline::crdt::laws::decode_of_encode_is_identity<Model>();                 \
  }
