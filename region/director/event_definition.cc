// World-event definitions: the lever function, tier choice, and the TOML reader that refuses a
// bad file with the file, the field's path and the reason.
#include "region/director/event_definition.h"

#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <initializer_list>
#include <map>

namespace worldline::region::director {
namespace {

constexpr double kMaxCount = 1'000'000;  // count levers: beyond this is a typo, not a design
// Multiplier levers (NPC health and damage): beyond this is a typo, and the products with a
// health or a damage would leave the 64-bit counters' range.
constexpr double kMaxMultiplier = 1000;
// Times in seconds: about 31 years, so that every time in ms fits an int64 with room to add.
constexpr double kMaxSeconds = 1e9;

std::string number(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

// A string from the input as an error message shows it: at most 64 characters, anything not
// printable ASCII as \xHH — errors go back over HTTP and into terminals and logs.
std::string shown(std::string_view s) {
  static constexpr std::size_t kMax = 64;
  std::string out;
  for (std::size_t i = 0; i < s.size() && i < kMax; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (s.size() > kMax) out += "... (" + std::to_string(s.size()) + " bytes)";
  return out;
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
        return fail(join(path, shown(key.str())), "unknown field" + why);
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
      return fail(p, "'" + shown(*v) + "' is not an id (1-64 letters, digits, '_', '-' or '.')");
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

// The first line (1-based) at which `text` nests deeper than kMaxNestingDepth, or 0 if it never
// does. A TOML lexer just good enough to find structure: strings and comments are skipped (their
// brackets and dots are text), and the depth counted is an upper bound on the depth of the tree
// toml++ would build — every `[`/`{` a level, every dot in the open element of each level one
// (a key's segment separator; a float's dot counts too, harmlessly), and the current table
// header two per segment. What follows a syntax error may be mis-lexed, but toml++ stops there.
std::size_t line_nested_too_deep(std::string_view text) {
  const std::size_t n = text.size();
  std::size_t line = 1;
  std::vector<std::size_t> dots{0};  // per open bracket, after the statement level: dots so far
  std::size_t dots_total = 0;
  std::size_t header_levels = 0;  // the current table header's levels, for the lines under it
  bool statement_start = true;    // only whitespace since a newline outside brackets
  bool in_header = false;
  std::size_t header_brackets = 0, header_dots = 0;
  const std::size_t bom = text.starts_with("\xEF\xBB\xBF") ? 3 : 0;  // skipped by toml++ too
  for (std::size_t i = bom; i < n; ++i) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
      in_header = false;  // a header is one line; an unclosed one is a syntax error for toml++
      if (dots.size() == 1) {
        dots_total -= dots[0];
        dots[0] = 0;
        statement_start = true;
      }
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r') continue;
    if (c == '#') {  // a comment, up to (not including) the newline
      while (i + 1 < n && text[i + 1] != '\n')
        ++i;
      continue;
    }
    statement_start = statement_start && c == '[' && dots.size() == 1 && !in_header;
    if (c == '"' || c == '\'') {
      const std::string_view triple = c == '"' ? R"(""")" : "'''";
      if (text.compare(i, 3, triple) == 0) {
        // Multi-line: closed by the first run of 3 to 5 quotes (up to two of them content).
        std::size_t j = i + 3;
        while (j < n) {
          if (c == '"' && text[j] == '\\' && j + 1 < n) {
            if (text[j + 1] == '\n') ++line;
            j += 2;
            continue;
          }
          if (text[j] == '\n') ++line;
          if (text.compare(j, 3, triple) == 0) {
            std::size_t run = 3;
            while (run < 5 && j + run < n && text[j + run] == c)
              ++run;
            j += run;
            break;
          }
          ++j;
        }
        i = j - 1;
      } else {  // one line: an unclosed string ends at the newline, a syntax error for toml++
        std::size_t j = i + 1;
        while (j < n && text[j] != '\n' && text[j] != c) {
          j += c == '"' && text[j] == '\\' && j + 1 < n && text[j + 1] != '\n' ? 2 : 1;
        }
        i = j < n && text[j] == c ? j : j - 1;
      }
      continue;
    }
    if (in_header) {
      if (c == '[') ++header_brackets;
      if (c == ']' && --header_brackets == 0) in_header = false;
      if (c == '.') ++header_dots;
      header_levels = 2 * (header_dots + 1);
      if (header_levels > kMaxNestingDepth) return line;
      continue;
    }
    if (statement_start) {  // `[` opening a line: a table header, replacing the previous one
      statement_start = false;
      in_header = true;
      header_brackets = 1;
      header_dots = 0;
      header_levels = 2;
      continue;
    }
    if (c == '[' || c == '{') {
      dots.push_back(0);
    } else if ((c == ']' || c == '}') && dots.size() > 1) {
      dots_total -= dots.back();
      dots.pop_back();
    } else if (c == ',') {  // the next element of an array or inline table
      dots_total -= dots.back();
      dots.back() = 0;
    } else if (c == '.') {
      ++dots.back();
      ++dots_total;
    }
    if (header_levels + (dots.size() - 1) + dots_total > kMaxNestingDepth) return line;
  }
  return 0;
}

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
  if (kind == LeverKind::kMultiplier && l.cap > kMaxMultiplier) {
    return r.fail(p + ".cap", "must be at most " + number(kMaxMultiplier) + " (a multiplier)");
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
  return r.fail(p + ".kind", "unknown trigger kind '" + shown(k.value_or("?")) +
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
    if (i == kMaxTiersPerEvent) {
      return r.fail(tp, "too many tiers (at most " + std::to_string(kMaxTiersPerEvent) + ")");
    }
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
  // reported at the field that closes it. Iterative: a chain of kMaxEvents events takes heap for
  // its path, not stack.
  struct Step {
    std::size_t event;
    std::size_t edge = 0;  // the next of next[event] to follow
  };
  std::vector<int> state(c.events.size(), 0);  // 0 unseen, 1 on the path, 2 done
  std::vector<Step> path;
  for (std::size_t start = 0; start < c.events.size(); ++start) {
    if (state[start] != 0) continue;
    state[start] = 1;
    path.push_back({start, 0});
    while (!path.empty()) {
      Step& step = path.back();
      if (step.edge == next[step.event].size()) {
        state[step.event] = 2;
        path.pop_back();
        continue;
      }
      const Edge& edge = next[step.event][step.edge++];
      if (state[edge.to] == 1) {
        std::string cycle;
        auto from = std::find_if(path.begin(), path.end(),
                                 [&](const Step& s) { return s.event == edge.to; });
        for (auto it = from; it != path.end(); ++it)
          cycle += c.events[it->event].id + " -> ";
        return r.fail(edge.field, "cycle " + cycle + c.events[edge.to].id);
      }
      if (state[edge.to] == 0) {
        state[edge.to] = 1;
        path.push_back({edge.to, 0});  // `step` is not used after this
      }
    }
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

bool is_event_id(std::string_view id) {
  return valid_id(id);
}

crdt::Result<bool> check_event_references(const EventCatalog& catalog, const std::string& file) {
  Reader r(file);
  if (!check_references(r, catalog)) {
    return crdt::make_error(crdt::ErrorCode::kInvalidArgument, *r.error());
  }
  return true;
}

crdt::Result<EventCatalog> parse_event_catalog(std::string_view text, const std::string& file) {
  auto error = [&](const std::string& message) {
    return crdt::make_error(crdt::ErrorCode::kInvalidArgument, message);
  };
  if (text.size() > kMaxCatalogBytes) {
    return error(file + ": text: must be at most " + std::to_string(kMaxCatalogBytes) +
                 " bytes (is " + std::to_string(text.size()) + ")");
  }
  if (const std::size_t line = line_nested_too_deep(text)) {
    return error(file + ": TOML syntax: nested deeper than " + std::to_string(kMaxNestingDepth) +
                 " levels (line " + std::to_string(line) + ")");
  }
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
      if (i == kMaxEvents) {
        return error(file + ": " + p + ": too many events (at most " + std::to_string(kMaxEvents) +
                     ")");
      }
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
