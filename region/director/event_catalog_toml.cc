// The catalog written back as TOML: what GET /admin/events serves, and what parse_event_catalog
// reads back to an equal catalog (shortest exact decimal for every number). Compact: a field at
// its default is left out, so a catalog read back is about the size of the file it came from
// (writing every default made a 0.5 MiB file 1.7 MiB, past kMaxCatalogBytes — review).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>

#include "region/director/event_definition.h"

namespace worldline::region::director {
namespace {

// The shortest decimal that reads back as exactly `v`. The shortest form of a large double with
// many digits is a whole number (12345678901234567000), which TOML reads as an integer; and
// parse_event_catalog refuses an integer beyond 2^53 as a number (toml++ will not round it to a
// double), so such a value is written in scientific form, still the shortest that reads back.
std::string number(double v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  const bool integer_form =
      std::all_of(buf, r.ptr, [](char c) { return c == '-' || (c >= '0' && c <= '9'); });
  if (integer_form && std::fabs(v) > 0x1p53) {
    r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  }
  return std::string(buf, r.ptr);
}

}  // namespace

std::string to_toml(const EventCatalog& catalog) {
  std::ostringstream out;
  auto lever = [&](const char* name, const Lever& l) {
    out << name << " = { base = " << number(l.base);
    if (l.per_player != 0) out << ", per_player = " << number(l.per_player);
    if (l.floor != 0) out << ", floor = " << number(l.floor);
    out << ", cap = " << number(l.cap) << " }\n";
  };
  const Tier defaults;
  for (const EventDefinition& e : catalog.events) {
    out << "[[event]]\nid = \"" << e.id << "\"\n";
    const Trigger& t = e.trigger;
    out << "trigger = { kind = \"" << to_string(t.kind) << "\"";
    switch (t.kind) {
      case TriggerKind::kDensity:
        out << ", players = " << t.players << ", for_s = " << number(t.for_s);
        break;
      case TriggerKind::kSchedule:
        out << ", every_s = " << number(t.every_s) << ", offset_s = " << number(t.offset_s);
        break;
      case TriggerKind::kAfter:
        out << ", event = \"" << t.after << "\"";
        break;
    }
    out << " }\n";
    out << "area = { x = " << number(e.area.x) << ", z = " << number(e.area.z)
        << ", radius = " << number(e.area.radius) << " }\n";
    const EventDefinition fresh;
    if (e.rewards.gold != 0) out << "rewards = { gold = " << e.rewards.gold << " }\n";
    if (e.cooldown_s != fresh.cooldown_s) out << "cooldown_s = " << number(e.cooldown_s) << "\n";
    if (e.rescale_every_s != fresh.rescale_every_s) {
      out << "rescale_every_s = " << number(e.rescale_every_s) << "\n";
    }
    if (e.escalates_to) out << "escalates_to = \"" << *e.escalates_to << "\"\n";
    for (const Tier& tier : e.tiers) {
      out << "\n[[event.tiers]]\n";
      if (tier.min_participants != 0) out << "min_participants = " << tier.min_participants << "\n";
      lever("npc_count", tier.npc_count);
      if (tier.npc_health_mult != defaults.npc_health_mult) {
        lever("npc_health_mult", tier.npc_health_mult);
      }
      if (tier.npc_damage_mult != defaults.npc_damage_mult) {
        lever("npc_damage_mult", tier.npc_damage_mult);
      }
      if (tier.elites != defaults.elites) lever("elites", tier.elites);
      lever("objective", tier.objective);
      lever("duration_s", tier.duration_s);
    }
    out << "\n";
  }
  return out.str();
}

}  // namespace worldline::region::director
