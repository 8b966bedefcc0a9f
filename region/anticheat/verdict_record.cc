#include "region/anticheat/verdict_record.h"

#include <charconv>
#include <vector>

namespace worldline::region::anticheat {
namespace {

// A verdict line is short: the note's 1 KiB escaped (×3) and the fixed fields.
constexpr std::size_t kMaxLine = 3 * kMaxNoteBytes + 200;

bool needs_escape(unsigned char c) {
  return c < '!' || c > '~' || c == '%';
}

bool to_u64(std::string_view s, std::uint64_t& out) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return false;  // one spelling per number
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;  // lower case is not the spelling format_verdict writes
}

crdt::Error bad(const std::string& why) {
  return crdt::Error{crdt::ErrorCode::kInvalidArgument, "not a verdict record: " + why};
}

}  // namespace

const char* to_string(VerdictKind verdict) {
  return verdict == VerdictKind::kConfirmed ? "confirmed" : "dismissed";
}

std::optional<VerdictKind> verdict_from(std::string_view name) {
  if (name == "confirmed") return VerdictKind::kConfirmed;
  if (name == "dismissed") return VerdictKind::kDismissed;
  return std::nullopt;
}

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // cut short
    for (std::size_t k = 1; k <= n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    static constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

std::string format_verdict(const Verdict& v) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = "v1 flag=" + std::to_string(v.flag) + " verdict=" + to_string(v.verdict) +
                    " by=" + std::to_string(v.by) + " ms=" + std::to_string(v.ms) + " note=";
  for (const char ch : v.note) {
    const auto c = static_cast<unsigned char>(ch);
    if (needs_escape(c)) {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    } else {
      out += ch;
    }
  }
  return out;
}

crdt::Result<Verdict> parse_verdict(const std::string& line) {
  if (line.size() > kMaxLine) return bad("longer than a verdict can be");
  std::vector<std::string_view> fields;
  std::string_view rest = line;
  while (true) {
    const std::size_t space = rest.find(' ');
    fields.push_back(rest.substr(0, space));
    if (space == std::string_view::npos) break;
    rest.remove_prefix(space + 1);
  }
  if (fields.size() != 6 || fields[0] != "v1") return bad("expected 'v1' and 5 fields");
  auto value = [&](std::size_t i, std::string_view key) -> std::optional<std::string_view> {
    const std::string_view s = fields[i];
    if (s.size() <= key.size() || s.substr(0, key.size()) != key || s[key.size()] != '=') {
      return std::nullopt;
    }
    return s.substr(key.size() + 1);
  };
  Verdict v;
  const auto flag = value(1, "flag"), verdict = value(2, "verdict"), by = value(3, "by"),
             ms = value(4, "ms");
  if (!flag || !by || !ms || !to_u64(*flag, v.flag) || !to_u64(*by, v.by) || !to_u64(*ms, v.ms)) {
    return bad("flag, by and ms (integers) expected");
  }
  const auto kind = verdict ? verdict_from(*verdict) : std::nullopt;
  if (!kind) return bad("verdict is confirmed or dismissed");
  v.verdict = *kind;
  // "note=" with nothing after it is an empty note (value() wants something after the '=').
  const std::string_view note = fields[5];
  if (note.substr(0, 5) != "note=") return bad("note= expected");
  for (std::size_t i = 5; i < note.size(); ++i) {
    const auto c = static_cast<unsigned char>(note[i]);
    if (c != '%') {
      if (needs_escape(c)) return bad("a byte the note should have escaped");
      v.note += note[i];
      continue;
    }
    if (i + 2 >= note.size()) return bad("a cut escape in the note");
    const int hi = hex_value(note[i + 1]), lo = hex_value(note[i + 2]);
    if (hi < 0 || lo < 0) return bad("an escape is %XX, upper-case hex");
    const auto decoded = static_cast<unsigned char>(hi * 16 + lo);
    if (!needs_escape(decoded)) return bad("an escaped byte that needs no escape");
    v.note += static_cast<char>(decoded);
    i += 2;
  }
  if (v.note.size() > kMaxNoteBytes) return bad("a note longer than 1 KiB");
  if (!valid_utf8(v.note)) return bad("a note that is not UTF-8");
  return v;
}

bool supersedes(const Verdict& a, const Verdict& b) {
  if (a.ms != b.ms) return a.ms > b.ms;
  return format_verdict(a) > format_verdict(b);
}

}  // namespace worldline::region::anticheat
