// Fuzz target for anticheat verdict records (a peer's replicated `anticheat_verdicts` elements):
// any bytes are refused with a reason or parsed, never a crash; what parses is a valid verdict
// (note UTF-8, at most 1 KiB) and formats back to exactly the same line (one spelling).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "region/anticheat/verdict_record.h"

using namespace worldline::region;

std::vector<std::string> worldline_fuzz_seeds() {
  anticheat::Verdict v{(std::uint64_t{1} << 48) | 28'240'000'000'123,
                       anticheat::VerdictKind::kConfirmed, 42, 1'765'000'123'456,
                       "seen on replay — 100% \"sure\"\n"};
  anticheat::Verdict empty = v;
  empty.verdict = anticheat::VerdictKind::kDismissed;
  empty.note.clear();
  return {anticheat::format_verdict(v), anticheat::format_verdict(empty)};
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string line(reinterpret_cast<const char*>(data), size);
  auto parsed = anticheat::parse_verdict(line);
  if (!parsed) return 0;
  const anticheat::Verdict& v = parsed.value();
  if (v.note.size() > anticheat::kMaxNoteBytes || !anticheat::valid_utf8(v.note)) std::abort();
  if (anticheat::format_verdict(v) != line) std::abort();
  return 0;
}
