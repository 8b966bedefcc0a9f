// World-event definitions as data: what triggers an event, where, how it scales with the players
// taking part (tiers of levers, each a clamped linear function of the participants), what it pays
// and what follows it. Parsed and validated from TOML (docs/world-events.md); plain values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crdt/result.h"

namespace worldline::region::director {

enum class TriggerKind { kDensity, kSchedule, kAfter };

const char* to_string(TriggerKind kind);

struct Trigger {
  TriggerKind kind = TriggerKind::kSchedule;
  // kDensity: at least `players` inside the event's area, held for `for_s` seconds.
  std::uint32_t players = 0;
  double for_s = 0;
  // kSchedule: at offset_s + k · every_s seconds of the director's clock, k = 0, 1, …
  double every_s = 0;
  double offset_s = 0;
  // kAfter: when the event with this id completes (not when it fails).
  std::string after;
  bool operator==(const Trigger&) const = default;
};

struct EventArea {
  double x = 0, z = 0;  // centre, world units
  double radius = 0;    // world units; participants are the players within it
  bool operator==(const EventArea&) const = default;
};

// value(p) = clamp(base + per_player · p, floor, cap) for p participants. base and per_player may
// be negative (a lever that starts above a number of players); floor <= cap, both >= 0.
struct Lever {
  double base = 0;
  double per_player = 0;
  double floor = 0;
  double cap = 0;
  double at(double participants) const;
  bool operator==(const Lever&) const = default;
};

// The levers' values for one number of participants. Counts are the clamped value rounded down
// (floor and cap of a count lever are whole numbers, so the count stays within them).
struct LeverValues {
  std::uint32_t npc_count = 0;
  double npc_health_mult = 1;
  double npc_damage_mult = 1;
  std::uint32_t elites = 0;     // NPCs of npc_count that are elites (never more than npc_count)
  std::uint32_t objective = 0;  // objective size, e.g. NPCs to defeat
  double duration_s = 0;
  bool operator==(const LeverValues&) const = default;
};

struct Tier {
  std::uint32_t min_participants = 0;
  Lever npc_count;                    // required
  Lever npc_health_mult{1, 0, 1, 1};  // default: 1
  Lever npc_damage_mult{1, 0, 1, 1};  // default: 1
  Lever elites;                       // default: 0
  Lever objective;                    // required, floor >= 1
  Lever duration_s;                   // required, floor > 0
  LeverValues at(double participants) const;
  bool operator==(const Tier&) const = default;
};

struct Rewards {
  std::uint64_t gold = 0;  // total, split among participants by contribution
  bool operator==(const Rewards&) const = default;
};

struct EventDefinition {
  std::string id;
  Trigger trigger;
  EventArea area;
  std::vector<Tier> tiers;  // non-empty, min_participants strictly increasing
  Rewards rewards;
  double cooldown_s = 0;       // after completion or failure, before it can trigger again
  double rescale_every_s = 5;  // how often a running instance re-evaluates its levers
  std::optional<std::string> escalates_to;  // triggered when this one completes

  // The last tier whose min_participants <= participants; the first tier below all of them.
  std::size_t tier_index(double participants) const;
  bool operator==(const EventDefinition&) const = default;
};

struct EventCatalog {
  std::vector<EventDefinition> events;  // in file order; ids unique
  const EventDefinition* find(std::string_view id) const;
  bool operator==(const EventCatalog&) const = default;
};

// Bounds on a definitions file, which operators send over the admin API (PUT /admin/events) and
// which is therefore untrusted. Each is refused with a message like any other problem.
// The whole text, in bytes; checked before any TOML parsing.
inline constexpr std::size_t kMaxCatalogBytes = std::size_t{1} << 20;
// How deep the text may nest, before TOML parsing: every `[` and `{` counts a level, every dot
// between key segments one more, and a table header `[a.b]` or `[[a.b]]` two per segment (each
// may be an array of tables) for the lines under it. toml++ bounds only arrays and inline tables
// (TOML_MAX_NESTED_VALUES, 256); dotted keys and headers it nests without limit, and a deep
// enough tree overflows the stack inside toml::parse (40 000 segments did, under ASan). A valid
// catalog needs at most 7.
inline constexpr std::size_t kMaxNestingDepth = 32;
inline constexpr std::size_t kMaxEvents = 256;        // [[event]] tables in one file
inline constexpr std::size_t kMaxTiersPerEvent = 16;  // [[event.tiers]] tables of one event
// Every other table the reader walks refuses unknown keys, so it holds only its known fields; the
// cross-reference check walks at most two links per event, without recursion.

// 1–64 letters, digits, '_', '-' or '.': what an event id may be.
bool is_event_id(std::string_view id);

// Parses and validates a definitions file. On error, the message is
// "<file>: <field path>: <reason>", e.g. "events.toml: event[2].tiers[0].npc_count.cap: missing",
// for the first problem found in file order (cross-references and cycles after the fields). The
// size and the nesting are checked first, before the TOML syntax, as
// "<file>: text: must be at most 1048576 bytes (is …)" and
// "<file>: TOML syntax: nested deeper than 32 levels (line …)".
crdt::Result<EventCatalog> parse_event_catalog(std::string_view text, const std::string& file);

// The catalog as TOML that parse_event_catalog reads back to an equal catalog (shortest exact
// decimal for every number; fields at their defaults left out).
std::string to_toml(const EventCatalog& catalog);

// The cross-references of a catalog whose definitions are each valid (from parse_event_catalog,
// perhaps with some removed): every `after` trigger and `escalates_to` names a definition of the
// catalog, no chain loops, ids unique. The error as parse_event_catalog gives it, for `file`.
crdt::Result<bool> check_event_references(const EventCatalog& catalog, const std::string& file);

}  // namespace worldline::region::director
