// World-event definitions: the lever function, tier choice, and the TOML reader that refuses a
// bad file with the file, the field's path and the reason.
#include "region/director/event_definition.h"

#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <initializer_list>
#include <map>

namespace worldline::region::director {
namespace {

constexpr double kMaxCount = 1'000'000;  // count levers: beyond this is a typo, not a design
// Times in seconds: about 31 years, so that every time in ms fits an int64 with room to add.
constexpr double kMaxSeconds = 1e9;

std::string number(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

// Reads one file, remembering the first problem as "<file>: <path>: <reason>". Every reader
// returns false once a problem is found, so parsing stops at the first one.
class Reader {
 public:
  explicit Reader(const std::string& file) : file_(file) {}

  bool fail(const std::string& path, const std::string& reason) {
    if (!error_) error_ = file_ + ": " + path + ": " + reason;
    return false;
  }
  const std::optional<std::string>& error() const { return error_; }

  bool only_keys(const toml::table& t, const std::string& path,
                 std::initializer_list<std::string_view> allowed, const std::string& why = "") {
    for (const auto& [key, node] : t) {
      if (std::find(allowed.begin(), allowed.end(), key.str()) == allowed.end()) {
        return fail(join(path, std::string(key.str())), "unknown field" + why);
      }
    }
    return true;
  }

  const toml::table* table(const toml::table& t, const std::string& path, std::string_view key,
                           bool required) {
    const toml::node* n = t.get(key);
    if (!n) {
      if (required) fail(join(path, key), "missing");
      return nullptr;
    }
    if (!n->is_table()) {
      fail(join(path, key), "must be a table");
      return nullptr;
    }
    return n->as_table();
  }

  // A finite number >= min (or > min when strict); `out` keeps its default when absent and not
  // required.
  bool real(const toml::table& t, const std::string& path, std::string_view key, double& out,
            bool required, double min = -INFINITY, bool strict = false) {
    const toml::node* n = t.get(key);
    const std::string p = join(path, key);
    if (!n) return required ? fail(p, "missing") : true;
    const auto v = n->is_number() ? n->value<double>() : std::nullopt;
    if (!v) return fail(p, "must be a number");
    if (!std::isfinite(*v)) return fail(p, "must be a finite number");
    if (key.ends_with("_s") && *v > kMaxSeconds) {
      return fail(p, "must be at most " + number(kMaxSeconds) + " (seconds)");
    }
    if (strict ? !(*v > min) : !(*v >= min)) {
      return fail(p, min == 0 && !strict
                         ? "must not be negative"
                         : std::string("must be ") + (strict ? "> " : ">= ") + number(min));
    }
    out = *v;
    return true;
  }

  bool whole(const toml::table& t, const std::string& path, std::string_view key,
             std::uint64_t& out, bool required, std::int64_t min, std::int64_t max) {
    const toml::node* n = t.get(key);
    const std::string p = join(path, key);
    if (!n) return required ? fail(p, "missing") : true;
    if (!n->is_integer()) return fail(p, "must be a whole number");  // not a float, bool, string
    const auto v = n->value<std::int64_t>();
    if (!v) return fail(p, "must be a whole number");
    if (*v < min) return fail(p, min == 0 ? "must not be negative" : "must be >= " + number(min));
    if (*v > max) return fail(p, "must be at most " + number(static_cast<double>(max)));
    out = static_cast<std::uint64_t>(*v);
    return true;
  }

  bool text(const toml::table& t, const std::string& path, std::string_view key, std::string& out,
            bool required) {
    const toml::node* n = t.get(key);
    const std::string p = join(path, key);
    if (!n) return required ? fail(p, "missing") : true;
    const auto v = n->value_exact<std::string>();
    if (!v) return fail(p, "must be a string");
    if (!valid_id(*v)) {
      return fail(p, "'" + *v + "' is not an id (1-64 letters, digits, '_', '-' or '.')");
    }
    out = *v;
    return true;
  }

  static std::string join(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
  }

 private:
  const std::string& file_;
  std::optional<std::string> error_;
};

enum class LeverKind { kCount, kMultiplier, kDuration };

bool read_lever(Reader& r, const toml::table& tier, const std::string& path, std::string_view key,
                LeverKind kind, bool required, Lever& out) {
  const toml::table* t = r.table(tier, path, key, required);
  if (!t) return !r.error();
  const std::string p = Reader::join(path, key);
  if (!r.only_keys(*t, p, {"base", "per_player", "floor", "cap"})) return false;
  Lever l;
  if (!r.real(*t, p, "base", l.base, true) || !r.real(*t, p, "per_player", l.per_player, false) ||
      !r.real(*t, p, "floor", l.floor, false, 0) || !r.real(*t, p, "cap", l.cap, true, 0)) {
    return false;
  }
  if (kind == LeverKind::kCount) {
    for (auto [name, v] : {std::pair{"floor", l.floor}, {"cap", l.cap}}) {
      if (std::floor(v) != v) return r.fail(p + "." + name, "must be a whole number (a count)");
      if (v > kMaxCount) return r.fail(p + "." + name, "must be at most " + number(kMaxCount));
    }
  }
  if (kind == LeverKind::kDuration && !(l.floor > 0)) {
    return r.fail(p + ".floor", "must be > 0 (an event needs time to be played)");
  }
  if (kind == LeverKind::kDuration && l.cap > kMaxSeconds) {
    return r.fail(p + ".cap", "must be at most " + number(kMaxSeconds) + " (seconds)");
  }
  if (l.floor > l.cap) {
    return r.fail(p + ".cap", "is below floor (" + number(l.cap) + " < " + number(l.floor) + ")");
  }
  out = l;
  return true;
}

bool read_tier(Reader& r, const toml::table& t, const std::string& p, Tier& out) {
  if (!r.only_keys(t, p,
                   {"min_participants", "npc_count", "npc_health_mult", "npc_damage_mult", "elites",
                    "objective", "duration_s"})) {
    return false;
  }
  std::uint64_t min = 0;
  if (!r.whole(t, p, "min_participants", min, false, 0, static_cast<std::int64_t>(kMaxCount))) {
    return false;
  }
  out.min_participants = static_cast<std::uint32_t>(min);
  return read_lever(r, t, p, "npc_count", LeverKind::kCount, true, out.npc_count) &&
         read_lever(r, t, p, "npc_health_mult", LeverKind::kMultiplier, false,
                    out.npc_health_mult) &&
         read_lever(r, t, p, "npc_damage_mult", LeverKind::kMultiplier, false,
                    out.npc_damage_mult) &&
         read_lever(r, t, p, "elites", LeverKind::kCount, false, out.elites) &&
         read_lever(r, t, p, "objective", LeverKind::kCount, true, out.objective) &&
         (out.objective.floor >= 1 ||
          r.fail(p + ".objective.floor", "must be >= 1 (an objective of 0 is met at once)")) &&
         read_lever(r, t, p, "duration_s", LeverKind::kDuration, true, out.duration_s);
}

bool read_trigger(Reader& r, const toml::table& event, const std::string& path, Trigger& out) {
  const toml::table* t = r.table(event, path, "trigger", true);
  if (!t) return false;
  const std::string p = path + ".trigger";
  const toml::node* kind = t->get("kind");
  if (!kind) return r.fail(p + ".kind", "missing");
  const auto k = kind->value_exact<std::string>();
  if (k == "density") {
    out.kind = TriggerKind::kDensity;
    std::uint64_t players = 0;
    if (!r.only_keys(*t, p, {"kind", "players", "for_s"}, " for a density trigger") ||
        !r.whole(*t, p, "players", players, true, 1, static_cast<std::int64_t>(kMaxCount)) ||
        !r.real(*t, p, "for_s", out.for_s, false, 0)) {
      return false;
    }
    out.players = static_cast<std::uint32_t>(players);
    return true;
  }
  if (k == "schedule") {
    out.kind = TriggerKind::kSchedule;
    return r.only_keys(*t, p, {"kind", "every_s", "offset_s"}, " for a schedule trigger") &&
           r.real(*t, p, "every_s", out.every_s, true, 0, /*strict=*/true) &&
           r.real(*t, p, "offset_s", out.offset_s, false, 0);
  }
  if (k == "after") {
    out.kind = TriggerKind::kAfter;
    return r.only_keys(*t, p, {"kind", "event"}, " for an after trigger") &&
           r.text(*t, p, "event", out.after, true);
  }
  return r.fail(p + ".kind", "unknown trigger kind '" + k.value_or("?") +
                                 "' (one of: density, schedule, after)");
}

bool read_event(Reader& r, const toml::table& t, const std::string& p, EventDefinition& e) {
  if (!r.only_keys(t, p,
                   {"id", "trigger", "area", "tiers", "rewards", "cooldown_s", "rescale_every_s",
                    "escalates_to"}) ||
      !r.text(t, p, "id", e.id, true) || !read_trigger(r, t, p, e.trigger)) {
    return false;
  }
  const toml::table* area = r.table(t, p, "area", true);
  if (!area) return false;
  const std::string ap = p + ".area";
  if (!r.only_keys(*area, ap, {"x", "z", "radius"}) || !r.real(*area, ap, "x", e.area.x, true) ||
      !r.real(*area, ap, "z", e.area.z, true) ||
      !r.real(*area, ap, "radius", e.area.radius, true, 0, /*strict=*/true)) {
    return false;
  }
  const toml::node* tiers = t.get("tiers");
  if (!tiers) return r.fail(p + ".tiers", "missing");
  const toml::array* arr = tiers->as_array();
  if (!arr || arr->empty()) return r.fail(p + ".tiers", "must be a non-empty array of tables");
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const std::string tp = p + ".tiers[" + std::to_string(i) + "]";
    const toml::table* tt = (*arr)[i].as_table();
    if (!tt) return r.fail(tp, "must be a table");
    Tier tier;
    if (!read_tier(r, *tt, tp, tier)) return false;
    if (i > 0 && tier.min_participants <= e.tiers.back().min_participants) {
      return r.fail(tp + ".min_participants", "must be above the previous tier's (" +
                                                  std::to_string(e.tiers.back().min_participants) +
                                                  ")");
    }
    e.tiers.push_back(tier);
  }
  if (const toml::table* rw = r.table(t, p, "rewards", false)) {
    if (!r.only_keys(*rw, p + ".rewards", {"gold"}) ||
        !r.whole(*rw, p + ".rewards", "gold", e.rewards.gold, false, 0, std::int64_t{1} << 53)) {
      return false;
    }
  } else if (r.error()) {
    return false;
  }
  if (!r.real(t, p, "cooldown_s", e.cooldown_s, false, 0) ||
      !r.real(t, p, "rescale_every_s", e.rescale_every_s, false, 0, /*strict=*/true)) {
    return false;
  }
  if (t.get("escalates_to")) {
    std::string next;
    if (!r.text(t, p, "escalates_to", next, true)) return false;
    e.escalates_to = next;
  }
  return true;
}

// Cross-references: unique ids, known targets, and no cycle through "completing X starts Y"
// (X escalates_to Y, or Y is triggered after X): such a cycle would run forever.
bool check_references(Reader& r, const EventCatalog& c) {
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < c.events.size(); ++i) {
    auto [it, fresh] = index.emplace(c.events[i].id, i);
    if (!fresh) {
      return r.fail("event[" + std::to_string(i) + "].id", "duplicate id '" + c.events[i].id +
                                                               "' (first at event[" +
                                                               std::to_string(it->second) + "])");
    }
  }
  struct Edge {
    std::size_t to;
    std::string field;
  };
  std::vector<std::vector<Edge>> next(c.events.size());
  for (std::size_t i = 0; i < c.events.size(); ++i) {
    const EventDefinition& e = c.events[i];
    const std::string p = "event[" + std::to_string(i) + "]";
    if (e.escalates_to) {
      auto it = index.find(*e.escalates_to);
      if (it == index.end()) {
        return r.fail(p + ".escalates_to", "unknown event '" + *e.escalates_to + "'");
      }
      next[i].push_back({it->second, p + ".escalates_to"});
    }
    if (e.trigger.kind == TriggerKind::kAfter) {
      auto it = index.find(e.trigger.after);
      if (it == index.end()) {
        return r.fail(p + ".trigger.event", "unknown event '" + e.trigger.after + "'");
      }
      next[it->second].push_back({i, p + ".trigger.event"});
    }
  }
  // Depth-first search from each event in file order; an edge back onto the path closes a cycle,
  // reported at the field that closes it.
  std::vector<int> state(c.events.size(), 0);  // 0 unseen, 1 on the path, 2 done
  std::vector<std::size_t> path;
  std::function<bool(std::size_t)> visit = [&](std::size_t v) {
    state[v] = 1;
    path.push_back(v);
    for (const Edge& edge : next[v]) {
      if (state[edge.to] == 1) {
        std::string cycle;
        auto from = std::find(path.begin(), path.end(), edge.to);
        for (auto it = from; it != path.end(); ++it)
          cycle += c.events[*it].id + " -> ";
        return r.fail(edge.field, "cycle " + cycle + c.events[edge.to].id);
      }
      if (state[edge.to] == 0 && !visit(edge.to)) return false;
    }
    path.pop_back();
    state[v] = 2;
    return true;
  };
  for (std::size_t i = 0; i < c.events.size(); ++i) {
    if (state[i] == 0 && !visit(i)) return false;
  }
  return true;
}

}  // namespace

const char* to_string(TriggerKind kind) {
  switch (kind) {
    case TriggerKind::kDensity:
      return "density";
    case TriggerKind::kSchedule:
      return "schedule";
    case TriggerKind::kAfter:
      return "after";
  }
  return "?";
}

double Lever::at(double participants) const {
  // A count that is not a number (a broken density sample) counts as nobody.
  if (!std::isfinite(participants) || participants < 0) participants = 0;
  return std::clamp(base + per_player * participants, floor, cap);
}

namespace {
// A count lever's value rounded down — within 1e-9 of the next whole number counts as it:
// 0.29 × 100 is 28.999999999999996 in binary and means 29.
std::uint32_t count_of(double v) {
  return static_cast<std::uint32_t>(std::floor(v + 1e-9));
}
}  // namespace

LeverValues Tier::at(double participants) const {
  LeverValues v;
  v.npc_count = count_of(npc_count.at(participants));
  v.npc_health_mult = npc_health_mult.at(participants);
  v.npc_damage_mult = npc_damage_mult.at(participants);
  v.elites = std::min(v.npc_count, count_of(elites.at(participants)));
  v.objective = count_of(objective.at(participants));
  v.duration_s = duration_s.at(participants);
  return v;
}

std::size_t EventDefinition::tier_index(double participants) const {
  std::size_t chosen = 0;
  for (std::size_t i = 0; i < tiers.size(); ++i) {
    if (tiers[i].min_participants <= participants) chosen = i;
  }
  return chosen;
}

const EventDefinition* EventCatalog::find(std::string_view id) const {
  for (const EventDefinition& e : events) {
    if (e.id == id) return &e;
  }
  return nullptr;
}

crdt::Result<EventCatalog> parse_event_catalog(std::string_view text, const std::string& file) {
  auto error = [&](const std::string& message) {
    return crdt::make_error(crdt::ErrorCode::kInvalidArgument, message);
  };
  toml::table root;
  try {
    root = toml::parse(text, file);
  } catch (const toml::parse_error& e) {
    return error(file + ": TOML syntax: " + std::string(e.description()) + " (line " +
                 std::to_string(e.source().begin.line) + ")");
  }
  Reader r(file);
  EventCatalog catalog;
  if (!r.only_keys(root, "", {"event"})) return error(*r.error());
  if (const toml::node* events = root.get("event")) {
    const toml::array* arr = events->as_array();
    if (!arr) return error(file + ": event: must be an array of tables ([[event]])");
    for (std::size_t i = 0; i < arr->size(); ++i) {
      const std::string p = "event[" + std::to_string(i) + "]";
      const toml::table* t = (*arr)[i].as_table();
      if (!t) return error(file + ": " + p + ": must be a table");
      EventDefinition e;
      if (!read_event(r, *t, p, e)) return error(*r.error());
      catalog.events.push_back(std::move(e));
    }
  }
  if (!check_references(r, catalog)) return error(*r.error());
  return catalog;
}

}  // namespace worldline::region::director
