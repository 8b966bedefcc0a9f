// A reviewer's verdict on a flag as the world keeps it: one element of the flagged player's
// `anticheat_verdicts` text set (component 17, replicated and journaled like the flags in
// component 16, so any region shows and counts it). One line of text, versioned; parse() takes
// anything a peer may have sent and refuses what is not a verdict, with the reason.
//
//   v1 flag=<flag id> verdict=confirmed|dismissed by=<reviewer's player id> ms=<HLC ms> note=<note>
//
// The note is percent-escaped: every byte outside '!'..'~', and '%' itself, as %XX (upper-case
// hex), nothing else — so a line has one spelling and no spaces inside its fields. A note is at
// most kMaxNoteBytes bytes of UTF-8 once unescaped. When a flag has several verdicts (two
// reviewers, two regions) the one with the highest ms wins, then the greater line (the same
// choice in every region).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "crdt/result.h"
#include "replica/component.h"

namespace worldline::region::anticheat {

inline constexpr replica::ComponentId kVerdictsComponent = 17;
inline constexpr std::size_t kMaxNoteBytes = 1024;

enum class VerdictKind : std::uint8_t { kConfirmed, kDismissed };
const char* to_string(VerdictKind verdict);
std::optional<VerdictKind> verdict_from(std::string_view name);

struct Verdict {
  std::uint64_t flag = 0;
  VerdictKind verdict = VerdictKind::kConfirmed;
  std::uint64_t by = 0;  // the reviewer: the player id of the admin token
  std::uint64_t ms = 0;  // when, the region's HLC physical ms
  std::string note;      // UTF-8, ≤ kMaxNoteBytes

  bool operator==(const Verdict&) const = default;
};

// REQUIRES: the note is valid UTF-8 of at most kMaxNoteBytes (parse_verdict refuses others).
std::string format_verdict(const Verdict& verdict);
crdt::Result<Verdict> parse_verdict(const std::string& line);

// Whether `a` supersedes `b` (same flag): later ms, then the greater line.
bool supersedes(const Verdict& a, const Verdict& b);

// Whether `s` is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool valid_utf8(std::string_view s);

}  // namespace worldline::region::anticheat
