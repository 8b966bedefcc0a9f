// The CRDT type each kind of game component is stored as (docs/state-model.md explains why).
// The replica and region layers name components by these aliases, never by the raw templates,
// so changing a component's merge policy is a one-line change here plus a schema note.
#pragma once

#include <cstdint>
#include <string>

#include "crdt/aw_or_set.h"
#include "crdt/bounded_counter.h"
#include "crdt/causal_counter.h"
#include "crdt/gcounter.h"
#include "crdt/lww_register.h"
#include "crdt/mv_register.h"
#include "crdt/or_map.h"
#include "crdt/policies.h"
#include "crdt/scalar.h"

namespace worldline::crdt {

using EntityId = std::uint64_t;
using ItemKind = std::string;

using Position = LwwRegister<Vec3>;  // written by the entity's authority only
using Velocity = LwwRegister<Vec3>;
using Health = PNCounter;                          // damage and healing both count; dead at <= 0
using Gold = BoundedCounter;                       // never below zero, whatever the merge order
using UniqueItemOwner = FirstClaimWins<EntityId>;  // earliest claim by HLC owns the item
using Inventory = OrMap<ItemKind, CausalCounter>;  // stack counts by item kind
using Buffs = AwOrSet<std::string>;
using GuildMembers = AwOrSet<EntityId>;
using EntityAuthority = MaxWins<Authority>;   // (epoch, region); a hand-off bumps the epoch
using DisplayName = MvRegister<std::string>;  // concurrent renames stay visible until resolved
using HighScore = MaxWins<std::int64_t>;
using Kills = GCounter;

}  // namespace worldline::crdt
