#include "region/director/spawn_claims.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
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

Membership::Membership(std::vector<std::uint64_t> ids) : regions(std::move(ids)) {
  std::sort(regions.begin(), regions.end());
  regions.erase(std::unique(regions.begin(), regions.end()), regions.end());
  std::erase(regions, std::uint64_t{0});
  hash = 1469598103934665603ULL;
  for (std::uint64_t r : regions) {
    for (int i = 0; i < 8; ++i) {
      hash ^= (r >> (8 * i)) & 0xff;
      hash *= 1099511628211ULL;
    }
  }
}

bool Membership::contains(std::uint64_t region) const {
  return std::binary_search(regions.begin(), regions.end(), region);
}

SpawnClaims SpawnClaims::read(const crdt::Buffs& set) {
  SpawnClaims out;
  for (const std::string& e : set.elements()) {
    std::string_view s = e;
    std::uint64_t region = 0, a = 0, b = 0;
    bool ok = false;
    if (s.starts_with("claim ")) {
      s.remove_prefix(6);
      ok = field(s, region, false) && field(s, a, false) && field(s, b, true) && b <= UINT32_MAX &&
           region != 0 && region <= UINT32_MAX;
      const SpawnClaim c{
          region, crdt::Hlc{a, static_cast<std::uint32_t>(b), static_cast<crdt::NodeId>(region)}};
      // Only the canonical spelling: "claim 01 …" would otherwise be a second name for region 1.
      if (ok && claim_element(c) == e) {
        out.claims_.push_back(c);
        continue;
      }
    } else if (s.starts_with("seen ")) {
      s.remove_prefix(5);
      ok = field(s, region, false) && field(s, a, true) && region != 0 && region <= UINT32_MAX;
      if (ok && seen_element(region, a) == e) {
        out.seen_.emplace_back(region, a);
        continue;
      }
    } else if (s.starts_with("ended ")) {
      s.remove_prefix(6);
      ok = field(s, region, true) && region != 0 && region <= UINT32_MAX;
      if (ok && ended_element(region) == e) {
        out.ended_.push_back(region);
        continue;
      }
    }
    ++out.unreadable_;
  }
  std::sort(out.seen_.begin(), out.seen_.end());
  return out;
}

std::optional<SpawnClaim> SpawnClaims::winner(const Membership& members) const {
  std::optional<SpawnClaim> best;
  for (const SpawnClaim& c : claims_) {
    if (!members.contains(c.region)) continue;
    if (!best || std::tie(c.stamp, c.region) < std::tie(best->stamp, best->region)) best = c;
  }
  return best;
}

bool SpawnClaims::seen_by(std::uint64_t region) const {
  return std::any_of(seen_.begin(), seen_.end(), [&](const auto& s) { return s.first == region; });
}

bool SpawnClaims::settled(const Membership& members) const {
  return !members.regions.empty() &&
         std::all_of(members.regions.begin(), members.regions.end(), [&](std::uint64_t r) {
           return std::binary_search(seen_.begin(), seen_.end(), std::pair(r, members.hash));
         });
}

std::optional<SpawnClaim> SpawnClaims::settled_winner(const Membership& members) const {
  return settled(members) ? winner(members) : std::nullopt;
}

std::string claim_element(const SpawnClaim& claim) {
  return "claim " + std::to_string(claim.region) + " " + std::to_string(claim.stamp.physical_ms) +
         " " + std::to_string(claim.stamp.logical);
}

std::string seen_element(std::uint64_t region, std::uint64_t membership_hash) {
  return "seen " + std::to_string(region) + " " + std::to_string(membership_hash);
}

std::string ended_element(std::uint64_t region) {
  return "ended " + std::to_string(region);
}

crdt::Buffs claim(crdt::Buffs& set, std::uint64_t region, crdt::Hlc stamp,
                  const Membership& members) {
  if (SpawnClaims::read(set).seen_by(region)) return crdt::Buffs{};
  const auto r = static_cast<crdt::ReplicaId>(region);
  crdt::Buffs delta = set.add(r, claim_element(SpawnClaim{region, stamp}));
  delta.join(set.add(r, seen_element(region, members.hash)));
  return delta;
}

crdt::Buffs see(crdt::Buffs& set, std::uint64_t region, const Membership& members) {
  const std::string e = seen_element(region, members.hash);
  if (set.contains(e)) return crdt::Buffs{};
  return set.add(static_cast<crdt::ReplicaId>(region), e);
}

crdt::Buffs end(crdt::Buffs& set, std::uint64_t region) {
  const std::string e = ended_element(region);
  if (set.contains(e)) return crdt::Buffs{};
  return set.add(static_cast<crdt::ReplicaId>(region), e);
}

}  // namespace worldline::region::director
