#include "region/director/rewards.h"

#include <algorithm>
#include <tuple>
#include <vector>

namespace worldline::region::director {

std::map<crdt::EntityId, std::uint64_t> split_gold(std::uint64_t total,
                                                   const Contributions& damage) {
  std::map<crdt::EntityId, std::uint64_t> out;
  unsigned __int128 all = 0;
  for (const auto& [player, d] : damage)
    if (d > 0) all += static_cast<std::uint64_t>(d);
  if (all == 0 || total == 0) return out;
  struct Share {
    crdt::EntityId player;
    std::uint64_t damage;
    unsigned __int128 remainder;  // of total × damage / all, in units of 1 / all
  };
  std::vector<Share> shares;
  std::uint64_t paid = 0;
  for (const auto& [player, d] : damage) {
    if (d <= 0) continue;
    // 128 bits: total × damage may exceed 64 (gold and damage are each up to 2^63).
    const unsigned __int128 exact = static_cast<unsigned __int128>(total) * d;
    const auto whole = static_cast<std::uint64_t>(exact / all);
    out[player] = whole;
    paid += whole;
    shares.push_back({player, static_cast<std::uint64_t>(d), exact % all});
  }
  std::sort(shares.begin(), shares.end(), [](const Share& a, const Share& b) {
    return std::tie(b.remainder, b.damage, a.player) < std::tie(a.remainder, a.damage, b.player);
  });
  // Fewer leftover pieces than players: each floor lost less than one piece.
  for (std::size_t i = 0; paid < total; ++i, ++paid)
    ++out[shares[i].player];
  return out;
}

}  // namespace worldline::region::director
