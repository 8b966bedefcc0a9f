// Fuzz target for anticheat flag records (a peer's replicated `anticheat_flags` elements): any
// bytes are refused with a reason or parsed, never a crash; what parses formats back to a line
// that parses to the same flag.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "region/anticheat/flag_record.h"

using namespace worldline::region;

std::vector<std::string> worldline_fuzz_seeds() {
  anticheat::Flag f;
  f.id = 77;
  f.player = 9;
  f.tick = 1200;
  f.server_ms = 1'765'000'000'000;
  f.confidence = 0.97;
  for (int i = 0; i < anticheat::kChecks; ++i)
    f.all[static_cast<std::size_t>(i)] = {static_cast<anticheat::Check>(i), 0.5 * i, 1.5, 3};
  anticheat::EvidenceEntry e;
  e.seq = 4;
  e.tick = 1199;
  e.asked = 25;
  e.granted = 10;
  e.limit = Limit::kMoveBudget;
  f.evidence = {e, e};
  anticheat::Flag empty = f;
  empty.evidence.clear();
  // A line of a node from before the aim checks (six check values).
  const std::string old =
      "v1 id=77 p=9 t=1200 ms=1765000000000 c=0.97 f=speed:0:1.5:3,teleport:0.5:1.5:3,"
      "rapid_fire:1:1.5:3,reach:1.5:1.5:3,clock:2:1.5:3,bot_timing:2.5:1.5:3 e=";
  return {anticheat::format_flag(f), anticheat::format_flag(empty), old};
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string line(reinterpret_cast<const char*>(data), size);
  auto parsed = anticheat::parse_flag(line);
  if (!parsed) return 0;
  auto again = anticheat::parse_flag(anticheat::format_flag(parsed.value()));
  if (!again || again.value().id != parsed.value().id ||
      again.value().evidence.size() != parsed.value().evidence.size()) {
    std::abort();
  }
  return 0;
}
