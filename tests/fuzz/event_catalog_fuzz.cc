// Fuzz target for world-event definitions (region/director), which operators send over the admin
// API: any text is refused with "<file>: …" and a reason, or parsed to a catalog that to_toml
// writes back as text that parses to an equal catalog. Never a crash, a hang or an empty reason.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "region/director/event_definition.h"

using namespace worldline::region::director;

namespace {

const std::string kFile = "fuzz.toml";

[[noreturn]] void fail(const char* what, std::string_view input, const std::string& detail) {
  std::fprintf(stderr, "fuzz invariant broken: %s\n  detail: %s\n  input (%zu bytes):\n%.*s\n",
               what, detail.c_str(), input.size(), static_cast<int>(input.size()), input.data());
  std::abort();
}

}  // namespace

// For the standalone driver: valid catalogs to start mutating from.
std::vector<std::string> worldline_fuzz_seeds() {
  return {
      R"([[event]]
id = "wolf_pack"
trigger = { kind = "density", players = 20, for_s = 30 }
area = { x = 100.5, z = -50, radius = 80 }
rewards = { gold = 500 }
cooldown_s = 300
rescale_every_s = 2.5
escalates_to = "alpha_wolf"

[[event.tiers]]
npc_count = { base = 5, per_player = 0.5, floor = 5, cap = 40 }
objective = { base = 5, per_player = 0.5, floor = 5, cap = 40 }
duration_s = { base = 300, floor = 300, cap = 300 }

[[event.tiers]]
min_participants = 30
npc_count = { base = 10, per_player = 1, floor = 30, cap = 120 }
npc_health_mult = { base = 1, per_player = 0.02, floor = 1, cap = 3 }
npc_damage_mult = { base = 1.25, floor = 1, cap = 2 }
elites = { base = -2, per_player = 0.1, floor = 0, cap = 8 }
objective = { base = 0, per_player = 1, floor = 30, cap = 120 }
duration_s = { base = 240, per_player = 2, floor = 240, cap = 600 }

[[event]]
id = "alpha_wolf"
trigger = { kind = "after", event = "wolf_pack" }
area = { x = 100.5, z = -50, radius = 40 }

[[event.tiers]]
npc_count = { base = 1, floor = 1, cap = 1 }
objective = { base = 1, floor = 1, cap = 1 }
duration_s = { base = 600, floor = 600, cap = 600 }
)",
      // Inline arrays and tables, comments, quoted keys and a literal string.
      R"(# world boss
[[event]]
"id" = 'world.boss-1'
trigger = { kind = "schedule", every_s = 3600, offset_s = 1e3 }  # hourly
area = { x = -1.5e2, z = 0, radius = 200 }
tiers = [
  { npc_count = { base = 1, cap = 1 }, objective = { base = 1, floor = 1, cap = 1 }, duration_s = { base = 900, floor = 900, cap = 900 } },
  { min_participants = 50, npc_count = { base = 2, floor = 2, cap = 2 }, objective = { base = 2, floor = 2, cap = 2 }, duration_s = { base = 1.5e2, floor = 0.25, cap = 900 } },
]
)",
      // Dotted keys and a table header per tier.
      R"([[event]]
id = "a"
trigger.kind = "density"
trigger.players = 3
area.x = 0
area.z = 0
area.radius = 1
[[event.tiers]]
npc_count.base = 1
npc_count.cap = 2
objective = { base = 1, floor = 1, cap = 1 }
[event.tiers.duration_s]
base = 60
floor = 60
cap = 60
)",
      "",
  };
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = parse_event_catalog(text, kFile);
  if (!parsed) {
    const std::string& message = parsed.error().message;
    if (message.size() <= kFile.size() + 2 || message.compare(0, kFile.size() + 2, kFile + ": ")) {
      fail("a refusal without \"<file>: \" and a reason", text, message);
    }
    return 0;
  }
  const std::string written = to_toml(parsed.value());
  auto again = parse_event_catalog(written, kFile);
  if (!again) fail("to_toml's text is refused", text, again.error().message + "\n" + written);
  if (!(again.value() == parsed.value())) fail("parse(to_toml(c)) != c", text, written);
  return 0;
}
