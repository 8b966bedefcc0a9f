#include "region/director/spawn_claims.h"

#include <algorithm>
#include <charconv>
#include <string_view>
#include <tuple>

namespace worldline::region::director {

namespace {

// Reads one unsigned decimal field and the separator after it (`end` for the last one).
bool field(std::string_view& s, std::uint64_t& out, bool last) {
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc{} || p == s.data()) return false;
  s.remove_prefix(static_cast<std::size_t>(p - s.data()));
  if (last) return s.empty();
  if (s.empty() || s.front() != ' ') return false;
  s.remove_prefix(1);
  return true;
}

}  // namespace

SpawnClaims SpawnClaims::read(const crdt::Buffs& set) {
  SpawnClaims out;
  for (const std::string& e : set.elements()) {
    std::string_view s = e;
    std::uint64_t region = 0, physical = 0, logical = 0;
    if (s.starts_with("claim ")) {
      s.remove_prefix(6);
      if (field(s, region, false) && field(s, physical, false) && field(s, logical, true) &&
          logical <= UINT32_MAX && region <= UINT32_MAX) {
        out.claims_.push_back(
            SpawnClaim{region, crdt::Hlc{physical, static_cast<std::uint32_t>(logical),
                                         static_cast<crdt::NodeId>(region)}});
        continue;
      }
    } else if (s.starts_with("seen ")) {
      s.remove_prefix(5);
      if (field(s, region, true)) {
        out.seen_.push_back(region);
        continue;
      }
    }
    ++out.unreadable_;
  }
  std::sort(out.seen_.begin(), out.seen_.end());
  out.seen_.erase(std::unique(out.seen_.begin(), out.seen_.end()), out.seen_.end());
  return out;
}

std::optional<SpawnClaim> SpawnClaims::winner() const {
  if (claims_.empty()) return std::nullopt;
  return *std::min_element(claims_.begin(), claims_.end(),
                           [](const SpawnClaim& a, const SpawnClaim& b) {
                             return std::tie(a.stamp, a.region) < std::tie(b.stamp, b.region);
                           });
}

bool SpawnClaims::seen_by(std::uint64_t region) const {
  return std::binary_search(seen_.begin(), seen_.end(), region);
}

bool SpawnClaims::settled(const std::vector<std::uint64_t>& regions) const {
  return std::all_of(regions.begin(), regions.end(),
                     [this](std::uint64_t r) { return seen_by(r); });
}

std::optional<SpawnClaim> SpawnClaims::settled_winner(
    const std::vector<std::uint64_t>& regions) const {
  return settled(regions) ? winner() : std::nullopt;
}

std::string claim_element(const SpawnClaim& claim) {
  return "claim " + std::to_string(claim.region) + " " + std::to_string(claim.stamp.physical_ms) +
         " " + std::to_string(claim.stamp.logical);
}

std::string seen_element(std::uint64_t region) {
  return "seen " + std::to_string(region);
}

crdt::Buffs claim(crdt::Buffs& set, std::uint64_t region, crdt::Hlc stamp) {
  if (set.contains(seen_element(region))) return crdt::Buffs{};
  const auto r = static_cast<crdt::ReplicaId>(region);
  crdt::Buffs delta = set.add(r, claim_element(SpawnClaim{region, stamp}));
  delta.join(set.add(r, seen_element(region)));
  return delta;
}

crdt::Buffs see(crdt::Buffs& set, std::uint64_t region) {
  if (set.contains(seen_element(region))) return crdt::Buffs{};
  return set.add(static_cast<crdt::ReplicaId>(region), seen_element(region));
}

}  // namespace worldline::region::director
