// The investigators' review of anticheat flags (issue #16, docs/anticheat.md "Review workflow"):
// reading every flag kept in the world (any region's: they are replicated) with its verdict,
// writing verdicts, and refitting the detector's calibration on the reviewed flags. The node's
// HTTP routes (/admin/flags…, app/region_node.cc) parse requests on the gateway's I/O threads
// with the parse_* functions here, and run the rest on the node's loop thread, which owns the
// world: every function taking a Replica or a Store is for that thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "crdt/result.h"
#include "region/anticheat/calibration.h"
#include "region/anticheat/detector.h"
#include "region/anticheat/flag_record.h"
#include "region/anticheat/verdict_record.h"
#include "replica/replica.h"

namespace worldline::app {

// A flag as the review shows it: the record, and the verdict that wins, if any.
struct ReviewedFlag {
  region::anticheat::FlagRecord record;
  std::optional<region::anticheat::Verdict> verdict;
};

// GET /admin/flags?region=&check=&min_confidence=&player=&limit=
struct FlagFilter {
  std::optional<std::uint32_t> region;
  std::optional<region::anticheat::Check> check;  // among the checks that fired
  double min_confidence = 0;
  std::optional<std::uint64_t> player;
  std::size_t limit = 100;
  static constexpr std::size_t kMaxLimit = 1000;
};

// The query string (after '?'); the error names the parameter and what is wrong with it.
crdt::Result<FlagFilter> parse_flag_filter(const std::string& query);

// POST /admin/flags/{id}/verdict: {"verdict": "confirmed"|"dismissed", "note": "..."}.
struct VerdictBody {
  region::anticheat::VerdictKind verdict = region::anticheat::VerdictKind::kConfirmed;
  std::string note;
};
// The error is "<field>: <reason>" (the route answers 400 with it).
crdt::Result<VerdictBody> parse_verdict_body(const std::string& body);

// Every flag in the world with its winning verdict; lines that are no record are skipped (a
// peer's bad line must not hide the others). Reads only the flagged players' entries, through
// the store's index of the anticheat components (Store::entities_with); parses every flag line
// of the world, so its cost grows with the flags kept, not with the world.
std::vector<ReviewedFlag> collect_flags(const replica::Store& store);
std::optional<ReviewedFlag> find_flag(const replica::Store& store, std::uint64_t id);

// Those passing the filter, by confidence (highest first), then time (newest first), then id;
// at most filter.limit. `total` gets how many passed before the limit.
std::vector<ReviewedFlag> select_flags(std::vector<ReviewedFlag> flags, const FlagFilter& filter,
                                       std::size_t* total = nullptr);

// JSON: the list's entries (fired checks, verdict) and one flag in full (every check, evidence).
std::string flags_json(const std::vector<ReviewedFlag>& flags, std::size_t total);
std::string flag_json(const ReviewedFlag& flag);

// Adds the verdict to the flagged player's anticheat_verdicts set in the open delta group, and
// removes the earlier verdicts this replica sees on the same flag (at most one line per flag
// survives, plus concurrent ones from other regions until they meet; the winner is the same
// everywhere: verdict_record.h). REQUIRES: the flag is in the world (find_flag).
crdt::Result<bool> write_verdict(replica::Replica& world, std::uint64_t player,
                                 const region::anticheat::Verdict& verdict);

// The reviewed flags' scores and labels (confirmed = cheat), for fit_platt. A v1 record keeps no
// score: it is recomputed from its features by `detector`'s weights.
struct ReviewedScores {
  std::vector<double> z;
  std::vector<bool> cheat;
  std::size_t confirmed = 0, dismissed = 0;
};
ReviewedScores reviewed_scores(const std::vector<ReviewedFlag>& flags,
                               const region::anticheat::Detector& detector);

struct Recalibration {
  bool applied = false, fitted = false;
  std::string reason;  // why not, when not applied
  region::anticheat::PlattFit fit;
  double previous_a = 0, previous_b = 0;
  std::size_t reviewed = 0, confirmed = 0, dismissed = 0;
};
// Fits Platt's a, b on the reviewed scores when there are at least `min_reviewed` of both
// classes together and each class has one; applies nothing itself (the caller sets the
// detector's calibration when `applied`). Refuses a fit that did not converge or whose a ≤ 0.
Recalibration recalibrate(const ReviewedScores& scores, std::size_t min_reviewed, double previous_a,
                          double previous_b);
std::string recalibration_json(const Recalibration& r);

}  // namespace worldline::app
