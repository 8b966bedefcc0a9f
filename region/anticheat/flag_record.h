// A flag as it is kept in the world: one element of the player's `anticheat_flags` text set
// (component 16, replicated and journaled like any state, so any region can review any flag).
// One line of text, versioned; parse() takes anything a peer may have sent and refuses what is
// not a flag, with the reason.
//
//   v1 id=<id> p=<player> t=<tick> ms=<server ms> c=<confidence>
//      f=<check>:<feature>:<statistic>:<threshold>,...        (every check, fired or not, in
//                                                               Check order; a record from
//                                                               before the aim checks has the
//                                                               first six, the rest read as 0)
//      e=<seq>/<tick>/<client ms>/<server
//      ms>/<kind>/<x>/<z>/<asked>/<granted>/<reach>/<limit>/<ok>;...
#pragma once

#include <string>

#include "crdt/result.h"
#include "region/anticheat/detector.h"

namespace worldline::region::anticheat {

inline constexpr replica::ComponentId kFlagsComponent = 16;

std::string format_flag(const Flag& flag);
crdt::Result<Flag> parse_flag(const std::string& line);

}  // namespace worldline::region::anticheat
