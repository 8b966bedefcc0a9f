// A flag as it is kept in the world: one element of the player's `anticheat_flags` text set
// (component 16, replicated and journaled like any state, so any region can review any flag).
// One line of text, versioned; parse() takes anything a peer may have sent and refuses what is
// not a flag, with the reason.
//
//   v2 id=<id> r=<region> p=<player> t=<tick> ms=<server ms> c=<confidence> z=<score>
//      f=<check>:<feature>:<statistic>:<threshold>,...        (every check, fired or not, in
//                                                               Check order; a record from
//                                                               before the aim checks has the
//                                                               first six, the rest read as 0)
//      e=<seq>/<tick>/<client ms>/<server
//      ms>/<kind>/<x>/<z>/<asked>/<granted>/<reach>/<limit>/<ok>;...
//
// v1 (the first nodes with the detector) has neither r= nor z=; it is still read: its region is
// the id's bits above 40 (v1 ids were region << 40 | a counter), its score is not known (the
// reviewers' recalibration recomputes it from the features). The node writes v2.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "crdt/result.h"
#include "region/anticheat/detector.h"

namespace worldline::region::anticheat {

inline constexpr replica::ComponentId kFlagsComponent = 16;

// A flag as the world keeps it: the detector's Flag and what the node adds.
struct FlagRecord {
  Flag flag;
  std::uint32_t region = 0;     // the region (replica id) that raised it
  std::optional<double> score;  // z when it was raised; v1 lines do not say
};

// v2. REQUIRES: record.score is set and finite.
std::string format_flag(const FlagRecord& record);
crdt::Result<FlagRecord> parse_flag_record(const std::string& line);

// v1, as the first nodes wrote it (kept for tests and tools that have no score).
std::string format_flag(const Flag& flag);
// Either version; the flag alone.
crdt::Result<Flag> parse_flag(const std::string& line);

}  // namespace worldline::region::anticheat
