// PlayerBudgets: the rate limits of a gateway, per player rather than per connection, so that a
// player with several sessions (two tabs, a reconnect loop, a second device) shares one budget of
// actions/s and bytes/s. One object per gateway, shared by every ClientSession of it.
//
// A player's budget is made at its first authenticated session and kept while it has one; after
// its last session ends it is kept until it would have refilled (burst / rate), so reconnecting
// does not buy a fresh burst.
// Thread safety: every call from any thread (sessions run on several I/O threads); the map is
// split into shards, each under its own lock.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "gateway/client_session.h"

namespace worldline::gateway {

class PlayerBudgets {
 public:
  // The rates and bursts of `limits` (actions_per_s, action_burst, bytes_per_s, byte_burst).
  explicit PlayerBudgets(const SessionLimits& limits);

  // A session of `player` authenticated / ended. Every join is matched by one leave.
  void join(std::uint64_t player, std::uint64_t now_ms);
  void leave(std::uint64_t player);
  // Takes one action, or n bytes, from the player's budget; false: over the limit.
  // REQUIRES: the player has a session (joined and not left).
  bool take_action(std::uint64_t player, std::uint64_t now_ms);
  bool take_bytes(std::uint64_t player, double n, std::uint64_t now_ms);

  std::size_t players() const;  // budgets held (for tests and metrics)

  // The cheat detection's `throttle` response (docs/anticheat.md): until `until_ms` the player's
  // actions are held to `actions_per_s` (a burst of one) on top of its budget — refused as
  // `rate_limited`, like any over its budget. Whether or not it has a session now.
  void throttle(std::uint64_t player, double actions_per_s, std::uint64_t until_ms,
                std::uint64_t now_ms);
  bool throttled(std::uint64_t player, std::uint64_t now_ms) const;

 private:
  struct Budget {
    TokenBucket actions, bytes;
    int sessions = 0;
    std::uint64_t last_ms = 0;  // of the last join or take
    TokenBucket throttle{1, 1};
    std::uint64_t throttled_until_ms = 0;  // 0: not throttled
  };
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::uint64_t, Budget> budgets;  // GUARDED_BY(mutex)
    std::uint64_t joins = 0;                            // GUARDED_BY(mutex)
  };
  static constexpr std::size_t kShards = 16;
  Shard& shard(std::uint64_t player) { return shards_[player % kShards]; }
  bool take(std::uint64_t player, bool action, double n, std::uint64_t now_ms);

  SessionLimits limits_;
  std::uint64_t refill_ms_;  // an idle budget is full again after this
  std::array<Shard, kShards> shards_;
};

}  // namespace worldline::gateway
