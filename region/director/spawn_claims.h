// SpawnClaims: which region spawns a world-event instance, decided in replicated state so that
// exactly one region ever spawns it, and only once that is certain. The region nodes' loops
// (app/region_app.cc) write and read it; this file is the value-level rule, no I/O.
//
// The state is one add-wins set of text elements per instance (component `event_claims`, on the
// instance id), holding three kinds of element:
//   "claim <region> <physical_ms> <logical>"  a region that started the instance wants to spawn it;
//   "seen <region> <members>"                 that region holds a claim and will never claim it;
//                                             <members>: a hash of the regions it settles with;
//   "ended <region>"                          the spawner ended the instance: never spawn it again.
// The winner is the claim with the earliest HLC (physical, logical, then region id). A region
// claims only if it has not said "seen" yet, and writes its claim and its "seen" in one delta;
// every region adds "seen" as soon as its replica holds any claim.
//
// Settled: the replica holds "seen" from every region of its membership (itself and every
// configured peer), each naming that same membership (the hash): regions whose configs disagree on
// who the regions are never settle, rather than settle on two winners. Claims of regions outside
// the membership are ignored. Then no claim is missing from it — a region's claim is in the same
// value as its "seen", or earlier, and one value travels whole (a delta interval or a full state
// carries a key's value as one entry, joined or refused as one), so a replica holding "seen r"
// holds r's claim — and no claim can come later, since every region has said it will not claim. So
// a settled winner is final: every replica that settles names the same one. The price is
// availability: a region that cannot hear from one peer (a partition, a dead node) settles nothing
// until it does. Assumed: a region never issues a dot twice (its journal survives, or its repair
// fence holds — replica/replica.h, request_resync); a region that lost its state unnoticed and
// re-adds its elements under old dots could make peers drop its claim.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "crdt/components.h"
#include "crdt/hlc.h"

namespace worldline::region::director {

// Component of an event instance's id (entity = the InstanceId) holding its SpawnClaims.
// (Component 18, `event_spawner`, held the first-claim register this replaced; it stays
// registered so old values still decode, and is read by nothing.)
inline constexpr std::uint16_t kEventClaimsComponent = 19;  // a replica::ComponentId

struct SpawnClaim {
  std::uint64_t region = 0;
  crdt::Hlc stamp;  // the claiming region's HLC when it claimed
  bool operator==(const SpawnClaim&) const = default;
};

// The regions an instance settles among: ascending, distinct, non-zero ids; and their hash.
struct Membership {
  explicit Membership(std::vector<std::uint64_t> regions);
  std::vector<std::uint64_t> regions;
  std::uint64_t hash = 0;  // FNV-1a over the ids
  bool contains(std::uint64_t region) const;
};

// One instance's claims as a replica holds them.
class SpawnClaims {
 public:
  // Reads the set's elements; an element of no known form, or not in its canonical spelling
  // (corrupted or foreign), is counted in unreadable() and otherwise ignored.
  static SpawnClaims read(const crdt::Buffs& set);

  // The earliest claim of a member, if any.
  std::optional<SpawnClaim> winner(const Membership& members) const;
  // Whether `region` has said "seen" (under any membership).
  bool seen_by(std::uint64_t region) const;
  // Every member has said "seen" under this membership.
  bool settled(const Membership& members) const;
  // The settled winner: winner() once settled(), nullopt before.
  std::optional<SpawnClaim> settled_winner(const Membership& members) const;
  // The spawner ended the instance (an id reused later spawns nothing).
  bool ended() const { return !ended_.empty(); }

  const std::vector<SpawnClaim>& claims() const { return claims_; }
  // (region, membership hash) pairs, ascending.
  const std::vector<std::pair<std::uint64_t, std::uint64_t>>& seen() const { return seen_; }
  std::size_t unreadable() const { return unreadable_; }

 private:
  std::vector<SpawnClaim> claims_;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> seen_;
  std::vector<std::uint64_t> ended_;
  std::size_t unreadable_ = 0;
};

std::string claim_element(const SpawnClaim& claim);
std::string seen_element(std::uint64_t region, std::uint64_t membership_hash);
std::string ended_element(std::uint64_t region);

// The delta mutators, applied to `set` (the replica's value) as crdt mutators are; an empty delta
// when there is nothing to add. claim(): adds the claim and the region's "seen" in one delta —
// nothing if the region has said "seen" already (under any membership), since a claim after it
// would break settlement. see(): adds "seen" if the region has not said it under this
// membership. end(): adds "ended".
crdt::Buffs claim(crdt::Buffs& set, std::uint64_t region, crdt::Hlc stamp,
                  const Membership& members);
crdt::Buffs see(crdt::Buffs& set, std::uint64_t region, const Membership& members);
crdt::Buffs end(crdt::Buffs& set, std::uint64_t region);

}  // namespace worldline::region::director
