#include "app/flag_review.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string_view>

#include <boost/json.hpp>

#include "crdt/components.h"

namespace worldline::app {
namespace json = boost::json;
namespace ac = region::anticheat;

namespace {

crdt::Error invalid(const std::string& what) {
  return crdt::make_error(crdt::ErrorCode::kInvalidArgument, what);
}

bool to_u64(std::string_view s, std::uint64_t& out) {
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc() && p == s.data() + s.size();
}

std::optional<ac::Check> check_from(std::string_view name) {
  for (int i = 0; i < ac::kChecks; ++i) {
    if (name == ac::to_string(static_cast<ac::Check>(i))) return static_cast<ac::Check>(i);
  }
  return std::nullopt;
}

const char* limit_name(region::Limit limit) {
  switch (limit) {
    case region::Limit::kNone:
      return "none";
    case region::Limit::kMoveBudget:
      return "move_budget";
    case region::Limit::kCooldown:
      return "cooldown";
    case region::Limit::kRange:
      return "range";
    case region::Limit::kMissed:
      return "missed";
  }
  return "unknown";
}

json::object check_json(const ac::CheckValue& v) {
  return {{"check", ac::to_string(v.check)},
          {"value", v.feature},
          {"statistic", v.statistic},
          {"threshold", v.threshold}};
}

json::value verdict_json(const std::optional<ac::Verdict>& v) {
  if (!v) return nullptr;
  return json::object{
      {"verdict", ac::to_string(v->verdict)}, {"by", v->by}, {"ms", v->ms}, {"note", v->note}};
}

// The fields a list entry and the full view share. The id is a string: ids use 64 bits and
// JavaScript's numbers hold 53.
json::object summary_json(const ReviewedFlag& r) {
  const ac::Flag& f = r.record.flag;
  json::array fired;
  for (const ac::CheckValue& v : f.fired)
    fired.push_back(check_json(v));
  json::object o{{"id", std::to_string(f.id)}, {"player", f.player},
                 {"region", r.record.region},  {"tick", f.tick},
                 {"server_ms", f.server_ms},   {"confidence", f.confidence}};
  o["score"] = r.record.score ? json::value(*r.record.score) : json::value(nullptr);
  o["fired"] = std::move(fired);
  o["verdict"] = verdict_json(r.verdict);
  return o;
}

}  // namespace

crdt::Result<FlagFilter> parse_flag_filter(const std::string& query) {
  FlagFilter filter;
  std::string_view rest = query;
  while (!rest.empty()) {
    const std::size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const std::size_t eq = pair.find('=');
    const std::string_view key = pair.substr(0, eq);
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    std::uint64_t n = 0;
    if (key == "region") {
      if (!to_u64(value, n) || n > 0xFFFF) return invalid("region: a region id, 0..65535");
      filter.region = static_cast<std::uint32_t>(n);
    } else if (key == "check") {
      filter.check = check_from(value);
      if (!filter.check) {
        std::string names;
        for (int i = 0; i < ac::kChecks; ++i)
          names += std::string(i ? ", " : "") + ac::to_string(static_cast<ac::Check>(i));
        return invalid("check: one of " + names + ", not '" + std::string(value.substr(0, 40)) +
                       "'");
      }
    } else if (key == "min_confidence") {
      double d = 0;
      const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), d);
      if (value.empty() || ec != std::errc() || p != value.data() + value.size() ||
          !(d >= 0 && d <= 1)) {
        return invalid("min_confidence: a number in [0, 1]");
      }
      filter.min_confidence = d;
    } else if (key == "player") {
      if (!to_u64(value, n)) return invalid("player: a player id");
      filter.player = n;
    } else if (key == "limit") {
      if (!to_u64(value, n) || n < 1 || n > FlagFilter::kMaxLimit) {
        return invalid("limit: 1.." + std::to_string(FlagFilter::kMaxLimit));
      }
      filter.limit = static_cast<std::size_t>(n);
    } else {
      return invalid("unknown parameter '" + std::string(key.substr(0, 40)) +
                     "' (region, check, min_confidence, player, limit)");
    }
  }
  return filter;
}

crdt::Result<VerdictBody> parse_verdict_body(const std::string& body) {
  boost::system::error_code ec;
  const json::value v = json::parse(body, ec);
  if (ec) return invalid("body: not JSON (" + ec.message() + ")");
  const json::object* o = v.if_object();
  if (!o) return invalid("body: a JSON object {\"verdict\": ..., \"note\": ...}");
  VerdictBody out;
  const json::value* verdict = o->if_contains("verdict");
  if (!verdict) return invalid("verdict: missing (confirmed or dismissed)");
  const json::string* name = verdict->if_string();
  const auto kind = name ? ac::verdict_from(std::string_view(*name)) : std::nullopt;
  if (!kind) return invalid("verdict: confirmed or dismissed");
  out.verdict = *kind;
  if (const json::value* note = o->if_contains("note")) {
    const json::string* text = note->if_string();
    if (!text) return invalid("note: a string");
    if (text->size() > ac::kMaxNoteBytes) {
      return invalid("note: longer than 1 KiB (" + std::to_string(text->size()) + " bytes)");
    }
    out.note = std::string(*text);
  }
  return out;
}

namespace {

// Calls fn(entity, value) for every value of `component`: through the store's index of it (the
// registry marks the anticheat components indexed), or a walk of the whole store when a
// configured registry does not.
template <typename Fn>
void for_each_value(const replica::Store& store, replica::ComponentId component, Fn&& fn) {
  if (const std::set<replica::EntityId>* holders = store.entities_with(component)) {
    for (const replica::EntityId entity : *holders) {
      if (const replica::ComponentValue* v = store.get(replica::Key{entity, component})) {
        fn(entity, *v);
      }
    }
    return;
  }
  for (const auto& [key, value] : store.entries()) {
    if (key.component == component) fn(key.entity, value);
  }
}

}  // namespace

std::vector<ReviewedFlag> collect_flags(const replica::Store& store) {
  std::vector<ReviewedFlag> flags;
  for_each_value(
      store, ac::kFlagsComponent,
      [&](replica::EntityId entity, const replica::ComponentValue& value) {
        for (const std::string& line : replica::value_as<crdt::Buffs>(value).elements()) {
          auto record = ac::parse_flag_record(line);
          // Only the flagged player's set holds its flags: a line under another entity
          // is no flag of this world's (a peer's bug or forgery), and would show under
          // the wrong player.
          if (record && record.value().flag.player == entity) {
            flags.push_back(ReviewedFlag{std::move(record).value(), std::nullopt});
          }
        }
      });
  std::map<std::uint64_t, ac::Verdict> verdicts;  // by flag id: the winner
  for_each_value(
      store, ac::kVerdictsComponent, [&](replica::EntityId, const replica::ComponentValue& value) {
        for (const std::string& line : replica::value_as<crdt::Buffs>(value).elements()) {
          auto v = ac::parse_verdict(line);
          if (!v) continue;
          auto [it, inserted] = verdicts.try_emplace(v.value().flag, v.value());
          if (!inserted && ac::supersedes(v.value(), it->second)) it->second = v.value();
        }
      });
  for (ReviewedFlag& f : flags) {
    if (auto it = verdicts.find(f.record.flag.id); it != verdicts.end()) f.verdict = it->second;
  }
  return flags;
}

std::optional<ReviewedFlag> find_flag(const replica::Store& store, std::uint64_t id) {
  for (ReviewedFlag& f : collect_flags(store)) {
    if (f.record.flag.id == id) return std::move(f);
  }
  return std::nullopt;
}

std::vector<ReviewedFlag> select_flags(std::vector<ReviewedFlag> flags, const FlagFilter& filter,
                                       std::size_t* total) {
  std::erase_if(flags, [&](const ReviewedFlag& r) {
    const ac::Flag& f = r.record.flag;
    if (filter.region && r.record.region != *filter.region) return true;
    if (filter.player && f.player != *filter.player) return true;
    if (f.confidence < filter.min_confidence) return true;
    if (filter.check && std::none_of(f.fired.begin(), f.fired.end(), [&](const ac::CheckValue& v) {
          return v.check == *filter.check;
        })) {
      return true;
    }
    return false;
  });
  std::sort(flags.begin(), flags.end(), [](const ReviewedFlag& x, const ReviewedFlag& y) {
    const ac::Flag &a = x.record.flag, &b = y.record.flag;
    if (a.confidence != b.confidence) return a.confidence > b.confidence;
    if (a.server_ms != b.server_ms) return a.server_ms > b.server_ms;
    return a.id < b.id;
  });
  if (total) *total = flags.size();
  if (flags.size() > filter.limit) flags.resize(filter.limit);
  return flags;
}

std::string flags_json(const std::vector<ReviewedFlag>& flags, std::size_t total) {
  json::array list;
  for (const ReviewedFlag& f : flags)
    list.push_back(summary_json(f));
  return json::serialize(json::object{{"total", total}, {"flags", std::move(list)}}) + "\n";
}

std::string flag_json(const ReviewedFlag& r) {
  json::object o = summary_json(r);
  json::array checks, evidence;
  for (const ac::CheckValue& v : r.record.flag.all)
    checks.push_back(check_json(v));
  for (const ac::EvidenceEntry& e : r.record.flag.evidence) {
    evidence.push_back(json::object{{"seq", e.seq},
                                    {"tick", e.tick},
                                    {"client_ms", e.client_ms},
                                    {"server_ms", e.server_ms},
                                    {"kind", region::to_string(e.kind)},
                                    {"x", e.x},
                                    {"z", e.z},
                                    {"asked", e.asked},
                                    {"granted", e.granted},
                                    {"reach", e.reach},
                                    {"limit", limit_name(e.limit)},
                                    {"ok", e.ok}});
  }
  o["checks"] = std::move(checks);
  o["evidence"] = std::move(evidence);
  return json::serialize(o) + "\n";
}

crdt::Result<bool> write_verdict(replica::Replica& world, std::uint64_t player,
                                 const ac::Verdict& verdict) {
  const replica::Key key{player, ac::kVerdictsComponent};
  const std::string line = ac::format_verdict(verdict);
  // The earlier verdicts on this flag this replica sees, removed; then the new one added.
  std::vector<std::string> earlier;
  if (const replica::ComponentValue* held = world.store().get(key)) {
    for (const std::string& old : replica::value_as<crdt::Buffs>(*held).elements()) {
      const auto parsed = ac::parse_verdict(old);
      if (parsed && parsed.value().flag == verdict.flag) earlier.push_back(old);
    }
  }
  for (const std::string& old : earlier) {
    auto removed =
        world.write(key, [&](replica::ComponentValue& v) -> std::optional<replica::ComponentValue> {
          return replica::value_as<crdt::Buffs>(v).remove(old);
        });
    if (!removed) return removed;
  }
  return world.write(key,
                     [&](replica::ComponentValue& v) -> std::optional<replica::ComponentValue> {
                       return replica::value_as<crdt::Buffs>(v).add(world.id(), line);
                     });
}

ReviewedScores reviewed_scores(const std::vector<ReviewedFlag>& flags,
                               const ac::Detector& detector) {
  ReviewedScores s;
  for (const ReviewedFlag& f : flags) {
    if (!f.verdict) continue;
    double z = 0;
    if (f.record.score) {
      z = *f.record.score;
    } else {
      std::array<double, ac::kChecks> features{};
      for (std::size_t i = 0; i < features.size(); ++i)
        features[i] = f.record.flag.all[i].feature;
      z = detector.score(features);
    }
    const bool cheat = f.verdict->verdict == ac::VerdictKind::kConfirmed;
    s.z.push_back(z);
    s.cheat.push_back(cheat);
    ++(cheat ? s.confirmed : s.dismissed);
  }
  return s;
}

Recalibration recalibrate(const ReviewedScores& scores, std::size_t min_reviewed, double previous_a,
                          double previous_b) {
  Recalibration r;
  r.previous_a = previous_a;
  r.previous_b = previous_b;
  r.reviewed = scores.z.size();
  r.confirmed = scores.confirmed;
  r.dismissed = scores.dismissed;
  if (r.reviewed < min_reviewed) {
    r.reason = "too few reviewed flags: " + std::to_string(r.reviewed) + ", at least " +
               std::to_string(min_reviewed) + " needed (anticheat.recalibrate_min_reviewed)";
    return r;
  }
  if (r.confirmed == 0 || r.dismissed == 0) {
    r.reason = std::string("only one class: every reviewed flag is ") +
               (r.confirmed ? "confirmed" : "dismissed") +
               "; a fit needs confirmed and dismissed flags";
    return r;
  }
  // vector<bool> is no contiguous array of bool: fit_platt takes a span.
  const std::size_t n = scores.cheat.size();
  std::unique_ptr<bool[]> cheat(new bool[n]);
  for (std::size_t i = 0; i < n; ++i)
    cheat[i] = scores.cheat[i];
  r.fit = ac::fit_platt(scores.z, std::span<const bool>(cheat.get(), n));
  r.fitted = true;
  if (!r.fit.converged || !std::isfinite(r.fit.a) || !std::isfinite(r.fit.b)) {
    r.reason = "the fit did not converge; nothing applied";
    return r;
  }
  if (!(r.fit.a > 0)) {
    r.reason =
        "the fit gives a <= 0: among the reviewed flags a higher score is not more often "
        "confirmed; nothing applied (look at the verdicts, or the checks)";
    return r;
  }
  r.applied = true;
  return r;
}

std::string recalibration_json(const Recalibration& r) {
  json::object o{{"applied", r.applied},
                 {"reviewed", r.reviewed},
                 {"confirmed", r.confirmed},
                 {"dismissed", r.dismissed},
                 {"previous", json::object{{"a", r.previous_a}, {"b", r.previous_b}}}};
  if (!r.reason.empty()) o["reason"] = r.reason;
  if (r.fitted) {
    o["fit"] = json::object{{"a", r.fit.a},
                            {"b", r.fit.b},
                            {"iterations", r.fit.iterations},
                            {"converged", r.fit.converged},
                            {"log_loss", r.fit.log_loss}};
  }
  return json::serialize(o) + "\n";
}

}  // namespace worldline::app
