// SpawnClaims: which region spawns a world-event instance, decided in replicated state so that
// exactly one region ever spawns it, and only once that is certain. The region nodes' loops
// (app/region_app.cc) write and read it; this file is the value-level rule, no I/O.
//
// The state is one add-wins set of text elements per instance (component `event_claims`, on the
// instance id), holding two kinds of element:
//   "claim <region> <physical_ms> <logical>"  a region that started the instance wants to spawn it;
//   "seen <region>"                           that region holds a claim and will never claim it.
// The winner is the claim with the earliest HLC (physical, logical, then region id). A region
// claims only if it has not said "seen" yet, and writes its claim and its "seen" in one delta;
// every region adds "seen" as soon as its replica holds any claim.
//
// Settled: the replica holds "seen" from every region (itself and every configured peer). Then
// no claim is missing from it — a region's claim is in the same value as its "seen", or earlier,
// and one value travels whole (a delta interval or a full state carries a key's value as one
// entry, joined or refused as one), so a replica holding "seen r" holds r's claim — and no claim
// can come later, since every region has said it will not claim. So a settled winner is final:
// every replica that settles names the same one. The price is availability: a region that
// cannot hear from one peer (a partition, a dead node) settles nothing until it does.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "crdt/components.h"
#include "crdt/hlc.h"

namespace worldline::region::director {

// Component of an event instance's id (entity = the InstanceId) holding its SpawnClaims.
inline constexpr std::uint16_t kEventClaimsComponent = 18;  // a replica::ComponentId

struct SpawnClaim {
  std::uint64_t region = 0;
  crdt::Hlc stamp;  // the claiming region's HLC when it claimed
  bool operator==(const SpawnClaim&) const = default;
};

// One instance's claims as a replica holds them.
class SpawnClaims {
 public:
  // Reads the set's elements; an element of neither form (corrupted or foreign) is counted in
  // unreadable() and otherwise ignored.
  static SpawnClaims read(const crdt::Buffs& set);

  // The earliest claim, if any.
  std::optional<SpawnClaim> winner() const;
  bool seen_by(std::uint64_t region) const;
  // Every region of `regions` has said "seen".
  bool settled(const std::vector<std::uint64_t>& regions) const;
  // The settled winner: winner() once settled(regions), nullopt before.
  std::optional<SpawnClaim> settled_winner(const std::vector<std::uint64_t>& regions) const;

  const std::vector<SpawnClaim>& claims() const { return claims_; }
  const std::vector<std::uint64_t>& seen() const { return seen_; }  // ascending
  std::size_t unreadable() const { return unreadable_; }

 private:
  std::vector<SpawnClaim> claims_;
  std::vector<std::uint64_t> seen_;
  std::size_t unreadable_ = 0;
};

std::string claim_element(const SpawnClaim& claim);
std::string seen_element(std::uint64_t region);

// The delta mutators, applied to `set` (the replica's value) as crdt mutators are. claim(): adds
// the claim and the region's "seen" in one delta — or nothing (an empty delta) if the region has
// said "seen" already, since a claim after it would break settlement. see(): adds "seen" if it
// is not there yet (empty delta otherwise).
crdt::Buffs claim(crdt::Buffs& set, std::uint64_t region, crdt::Hlc stamp);
crdt::Buffs see(crdt::Buffs& set, std::uint64_t region);

}  // namespace worldline::region::director
