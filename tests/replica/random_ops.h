// Random mutations of every component kind, for the simulation and property tests.
#pragma once

#include <optional>
#include <random>
#include <string>

#include "crdt/hlc.h"
#include "replica/component.h"

namespace worldline::replica::testing {

// Mutates `v` (whatever kind it holds) at random as replica `r`; returns the delta or nullopt
// when the mutation was refused (a decrement without rights, a claim on a claimed item).
inline std::optional<ComponentValue> random_mutation(ComponentValue& v, crdt::ReplicaId r,
                                                     crdt::HlcClock& clock, std::mt19937_64& rng,
                                                     crdt::ReplicaId replicas) {
  auto pick = [&](std::uint64_t n) {
    return std::uniform_int_distribution<std::uint64_t>(0, n - 1)(rng);
  };
  const std::string names[] = {"a", "b", "c", "sword", "potion"};
  return std::visit(
      [&](auto& alternative) -> std::optional<ComponentValue> {
        auto& x = unbox(alternative);
        using T = std::decay_t<decltype(x)>;
        using namespace crdt;
        if constexpr (std::is_same_v<T, Position>) {
          return x.assign(Vec3{double(pick(100)), double(pick(100)), 0}, clock.now());
        } else if constexpr (std::is_same_v<T, Health>) {
          return pick(2) ? x.increment(r, pick(10)) : x.decrement(r, pick(10));
        } else if constexpr (std::is_same_v<T, Gold>) {
          switch (pick(3)) {
            case 0:
              return x.increment(r, pick(20));
            case 1: {
              auto d = x.decrement(r, pick(20));
              if (!d) return std::nullopt;
              return std::move(d).value();
            }
            default: {
              auto d = x.transfer(r, static_cast<ReplicaId>(1 + pick(replicas)), pick(10));
              if (!d) return std::nullopt;
              return std::move(d).value();
            }
          }
        } else if constexpr (std::is_same_v<T, UniqueItemOwner>) {
          auto d = x.claim(r * 1000 + pick(5), clock.now());
          if (!d) return std::nullopt;
          return std::move(d).value();
        } else if constexpr (std::is_same_v<T, Inventory>) {
          const auto& key = names[pick(5)];
          if (pick(4) == 0) return x.remove(key);
          return x.update(key,
                          [&](CausalCounter& c) { return c.add(r, std::int64_t(pick(7)) - 2); });
        } else if constexpr (std::is_same_v<T, Buffs>) {
          const auto& e = names[pick(5)];
          return pick(3) == 0 ? x.remove(e) : x.add(r, e);
        } else if constexpr (std::is_same_v<T, GuildMembers>) {
          const std::uint64_t e = pick(8);
          return pick(3) == 0 ? x.remove(e) : x.add(r, e);
        } else if constexpr (std::is_same_v<T, EntityAuthority>) {
          return x.set(Authority{pick(5), r});
        } else if constexpr (std::is_same_v<T, DisplayName>) {
          return x.assign(r, names[pick(5)]);
        } else if constexpr (std::is_same_v<T, HighScore>) {
          return x.set(std::int64_t(pick(1000)));
        } else {
          return x.increment(r, pick(5));
        }
      },
      v);
}

}  // namespace worldline::replica::testing
