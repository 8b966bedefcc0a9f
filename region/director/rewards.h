// Rewards by contribution: an event's gold split among the players who damaged its NPCs, in
// proportion to the damage each dealt. Pure arithmetic; the spawner region pays what it returns
// (app/event_npcs.h) when the instance completes.
#pragma once

#include <cstdint>
#include <map>

#include "crdt/components.h"

namespace worldline::region::director {

// Damage dealt to an instance's NPCs, by player (only positive amounts count).
using Contributions = std::map<crdt::EntityId, std::int64_t>;

// Splits `total` gold by contribution: each player gets floor(total × damage / all damage), and
// the gold those floors leave over goes one piece each to the largest remainders (ties: the
// larger damage, then the lower id) — so the shares add up to `total` exactly and nobody gets
// more than one piece above their exact share. Players with no positive damage get nothing (and
// are absent); no contribution at all: empty, nothing paid.
std::map<crdt::EntityId, std::uint64_t> split_gold(std::uint64_t total,
                                                   const Contributions& damage);

}  // namespace worldline::region::director
