#include "region/anticheat/flag_record.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <string_view>
#include <vector>

namespace worldline::region::anticheat {
namespace {

constexpr std::size_t kMaxLine = 16 * 1024;

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    const std::size_t end = s.find(sep, start);
    out.push_back(
        s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

bool to_u64(std::string_view s, std::uint64_t& out) {
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

// Numbers as format_flag writes them: digits, a sign, a point and an exponent — no hex, no
// leading '+' or space, no inf or nan (strtod would take those).
bool to_double(std::string_view s, double& out) {
  if (s.empty() || s.size() > 40) return false;
  // to_chars writes large and small values with an exponent, "2.9e+38": '+' only after 'e'.
  if (s.find_first_not_of("0123456789.-+e") != std::string_view::npos || s[0] == 'e') return false;
  for (std::size_t i = 0; i < s.size(); ++i)
    if (s[i] == '+' && (i == 0 || s[i - 1] != 'e')) return false;
  char buf[48];
  s.copy(buf, s.size());
  buf[s.size()] = '\0';
  char* end = nullptr;
  out = std::strtod(buf, &end);
  return end == buf + s.size() && std::isfinite(out);
}

bool to_float(std::string_view s, float& out) {
  double d = 0;
  if (!to_double(s, d) || std::abs(d) > 3.0e38) return false;
  out = static_cast<float>(d);
  return true;
}

std::optional<Check> check_from(std::string_view name) {
  for (int i = 0; i < kChecks; ++i) {
    if (name == to_string(static_cast<Check>(i))) return static_cast<Check>(i);
  }
  return std::nullopt;
}

crdt::Error bad(const std::string& why) {
  return crdt::Error{crdt::ErrorCode::kInvalidArgument, "not a flag record: " + why};
}

}  // namespace

// The shortest text that reads back to the same value (so a check's feature of 0.9999996 is not
// written as 1 and read back as fired).
template <typename T>
std::string num(T v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

namespace {

void format_rest(std::ostringstream& o, const Flag& f) {
  o << " f=";
  for (std::size_t i = 0; i < f.all.size(); ++i) {
    const CheckValue& v = f.all[i];
    o << (i ? "," : "") << to_string(v.check) << ':' << num(v.feature) << ':' << num(v.statistic)
      << ':' << num(v.threshold);
  }
  o << " e=";
  for (std::size_t i = 0; i < f.evidence.size(); ++i) {
    const EvidenceEntry& e = f.evidence[i];
    o << (i ? ";" : "") << e.seq << '/' << e.tick << '/' << e.client_ms << '/' << e.server_ms << '/'
      << static_cast<int>(e.kind) << '/' << num(e.x) << '/' << num(e.z) << '/' << num(e.asked)
      << '/' << num(e.granted) << '/' << num(e.reach) << '/' << static_cast<int>(e.limit) << '/'
      << (e.ok ? 1 : 0);
  }
}

}  // namespace

std::string format_flag(const Flag& f) {
  std::ostringstream o;
  o << "v1 id=" << f.id << " p=" << f.player << " t=" << f.tick << " ms=" << f.server_ms
    << " c=" << num(f.confidence);
  format_rest(o, f);
  return o.str();
}

std::string format_flag(const FlagRecord& r) {
  const Flag& f = r.flag;
  std::ostringstream o;
  o << "v2 id=" << f.id << " r=" << r.region << " p=" << f.player << " t=" << f.tick
    << " ms=" << f.server_ms << " c=" << num(f.confidence) << " z=" << num(r.score.value_or(0));
  format_rest(o, f);
  return o.str();
}

crdt::Result<FlagRecord> parse_flag_record(const std::string& line) {
  if (line.size() > kMaxLine) return bad("longer than 16 KiB");
  const auto fields = split(line, ' ');
  const bool v2 = !fields.empty() && fields[0] == "v2";
  if (!(fields.size() == 8 && fields[0] == "v1") && !(fields.size() == 10 && v2)) {
    return bad("expected 'v1' and 7 fields or 'v2' and 9");
  }
  FlagRecord record;
  Flag& f = record.flag;
  // v2 has r= after id= and z= after c=: map v1's positions onto v2's.
  const std::size_t shift_r = v2 ? 1 : 0, shift_z = v2 ? 2 : 0;
  auto value = [&](std::size_t i, std::string_view key) -> std::optional<std::string_view> {
    const std::string_view s = fields[i];
    if (s.substr(0, key.size()) != key || s.size() <= key.size() || s[key.size()] != '=') {
      return std::nullopt;
    }
    return s.substr(key.size() + 1);
  };
  const auto id = value(1, "id"), p = value(2 + shift_r, "p"), t = value(3 + shift_r, "t"),
             ms = value(4 + shift_r, "ms"), c = value(5 + shift_r, "c");
  if (!id || !p || !t || !ms || !c || !to_u64(*id, f.id) || !to_u64(*p, f.player) ||
      !to_u64(*t, f.tick) || !to_u64(*ms, f.server_ms) || !to_double(*c, f.confidence) ||
      f.confidence < 0 || f.confidence > 1) {
    return bad("id, p, t, ms (integers) and c (0..1) expected");
  }
  if (v2) {
    const auto r = value(2, "r"), z = value(7, "z");
    std::uint64_t region = 0;
    double score = 0;
    if (!r || !z || !to_u64(*r, region) || region > 0xFFFF || !to_double(*z, score)) {
      return bad("r (a region id, 0..65535) and z (a number) expected");
    }
    record.region = static_cast<std::uint32_t>(region);
    record.score = score;
  } else {
    record.region = static_cast<std::uint32_t>(f.id >> 40);
  }
  // value() wants "f=" with something after it; every flag has its checks.
  const auto checks = value(6 + shift_z, "f");
  if (!checks) return bad("f= expected");
  const auto parts = split(*checks, ',');
  // A node from before the aim checks wrote the first six; the rest read as 0 (not measured).
  if (parts.size() != kChecks && parts.size() != kChecksBeforeAim) {
    return bad("one value per check expected");
  }
  for (std::size_t i = parts.size(); i < kChecks; ++i)
    f.all[i].check = static_cast<Check>(i);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const auto v = split(parts[i], ':');
    CheckValue cv;
    const auto check = v.size() == 4 ? check_from(v[0]) : std::nullopt;
    if (!check || *check != static_cast<Check>(i) || !to_double(v[1], cv.feature) ||
        !to_double(v[2], cv.statistic) || !to_double(v[3], cv.threshold)) {
      return bad("check value " + std::to_string(i) + " unreadable");
    }
    cv.check = *check;
    f.all[i] = cv;
    if (cv.feature >= 1) f.fired.push_back(cv);
  }
  std::sort(f.fired.begin(), f.fired.end(),
            [](const CheckValue& x, const CheckValue& y) { return x.feature > y.feature; });
  const std::string_view ev = fields[7 + shift_z];
  if (ev.substr(0, 2) != "e=") return bad("e= expected");
  if (ev.size() > 2) {
    const auto entries = split(ev.substr(2), ';');
    if (entries.size() > kEvidenceWindow) return bad("more evidence than a flag keeps");
    for (std::string_view s : entries) {
      const auto v = split(s, '/');
      EvidenceEntry e;
      std::uint64_t kind = 0, limit = 0, ok = 0;
      if (v.size() != 12 || !to_u64(v[0], e.seq) || !to_u64(v[1], e.tick) ||
          !to_u64(v[2], e.client_ms) || !to_u64(v[3], e.server_ms) || !to_u64(v[4], kind) ||
          kind >= kActionKinds || !to_float(v[5], e.x) || !to_float(v[6], e.z) ||
          !to_float(v[7], e.asked) || !to_float(v[8], e.granted) || !to_float(v[9], e.reach) ||
          !to_u64(v[10], limit) || limit > static_cast<std::uint64_t>(Limit::kMissed) ||
          !to_u64(v[11], ok) || ok > 1) {
        return bad("evidence entry unreadable");
      }
      e.kind = static_cast<ActionKind>(kind);
      e.limit = static_cast<Limit>(limit);
      e.ok = ok == 1;
      f.evidence.push_back(e);
    }
  }
  return record;
}

crdt::Result<Flag> parse_flag(const std::string& line) {
  auto record = parse_flag_record(line);
  if (!record) return record.error();
  return std::move(record).value().flag;
}

}  // namespace worldline::region::anticheat
