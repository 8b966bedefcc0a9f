#include "gateway/player_budgets.h"

#include <algorithm>
#include <cmath>

namespace worldline::gateway {

PlayerBudgets::PlayerBudgets(const SessionLimits& limits)
    : limits_(limits),
      refill_ms_(static_cast<std::uint64_t>(
          std::ceil(1000.0 * std::max(limits.action_burst / limits.actions_per_s,
                                      limits.byte_burst / limits.bytes_per_s)))) {}

void PlayerBudgets::join(std::uint64_t player, std::uint64_t now_ms) {
  Shard& s = shard(player);
  std::lock_guard<std::mutex> lock(s.mutex);
  // Budgets of players without a session that have refilled by now are of no use: dropped every
  // 64th join of the shard, so the map holds the players connected and those that left recently,
  // and a join costs O(1) amortized.
  if (++s.joins % 64 == 0) {
    std::erase_if(s.budgets, [&](const auto& entry) {
      return entry.second.sessions == 0 && now_ms >= entry.second.last_ms + refill_ms_ &&
             now_ms >= entry.second.throttled_until_ms;
    });
  }
  auto [it, fresh] = s.budgets.try_emplace(
      player, Budget{TokenBucket(limits_.actions_per_s, limits_.action_burst),
                     TokenBucket(limits_.bytes_per_s, limits_.byte_burst), 0, now_ms});
  (void)fresh;
  ++it->second.sessions;
  it->second.last_ms = std::max(it->second.last_ms, now_ms);
}

void PlayerBudgets::leave(std::uint64_t player) {
  Shard& s = shard(player);
  std::lock_guard<std::mutex> lock(s.mutex);
  auto it = s.budgets.find(player);
  if (it != s.budgets.end() && it->second.sessions > 0) --it->second.sessions;
}

bool PlayerBudgets::take(std::uint64_t player, bool action, double n, std::uint64_t now_ms) {
  Shard& s = shard(player);
  std::lock_guard<std::mutex> lock(s.mutex);
  auto it = s.budgets.find(player);
  if (it == s.budgets.end()) return false;  // no session: nothing to spend
  Budget& b = it->second;
  b.last_ms = std::max(b.last_ms, now_ms);
  if (action && now_ms < b.throttled_until_ms && !b.throttle.take(n, now_ms)) return false;
  return (action ? b.actions : b.bytes).take(n, now_ms);
}

void PlayerBudgets::throttle(std::uint64_t player, double actions_per_s, std::uint64_t until_ms,
                             std::uint64_t now_ms) {
  Shard& s = shard(player);
  std::lock_guard<std::mutex> lock(s.mutex);
  auto [it, fresh] = s.budgets.try_emplace(
      player, Budget{TokenBucket(limits_.actions_per_s, limits_.action_burst),
                     TokenBucket(limits_.bytes_per_s, limits_.byte_burst), 0, now_ms});
  (void)fresh;
  it->second.throttle = TokenBucket(actions_per_s, 1);
  it->second.throttled_until_ms = until_ms;
}

bool PlayerBudgets::throttled(std::uint64_t player, std::uint64_t now_ms) const {
  const Shard& s = shards_[player % kShards];
  std::lock_guard<std::mutex> lock(s.mutex);
  auto it = s.budgets.find(player);
  return it != s.budgets.end() && now_ms < it->second.throttled_until_ms;
}

bool PlayerBudgets::take_action(std::uint64_t player, std::uint64_t now_ms) {
  return take(player, true, 1, now_ms);
}

bool PlayerBudgets::take_bytes(std::uint64_t player, double n, std::uint64_t now_ms) {
  return take(player, false, n, now_ms);
}

std::size_t PlayerBudgets::players() const {
  std::size_t n = 0;
  for (const Shard& s : shards_) {
    std::lock_guard<std::mutex> lock(s.mutex);
    n += s.budgets.size();
  }
  return n;
}

}  // namespace worldline::gateway
