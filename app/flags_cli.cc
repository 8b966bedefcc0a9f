#include "app/flags_cli.h"

#include "app/admin_http.h"

#include <boost/json.hpp>
#include <cstdio>
#include <ctime>
#include <iomanip>
#include <memory>
#include <ostream>
#include <sstream>

namespace worldline::app {
namespace {

namespace json = boost::json;

// "2026-12-07 02:14:05.123" (UTC) from Unix ms.
std::string utc(std::uint64_t ms) {
  const std::time_t s = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%03u", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<unsigned>(ms % 1000));
  return buf;
}

std::string fixed(double v, int digits) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(digits) << v;
  return o.str();
}

double number(const json::value& v) {
  return v.is_double() ? v.as_double() : v.to_number<double>();
}
std::uint64_t count(const json::value& v) {
  return v.to_number<std::uint64_t>();
}

std::string verdict_text(const json::value& v) {
  if (v.is_null()) return "-";
  const json::object& o = v.as_object();
  return std::string(o.at("verdict").as_string()) + " by " + std::to_string(count(o.at("by")));
}

std::string fired_text(const json::array& fired) {
  std::string s;
  for (const json::value& c : fired) {
    const json::object& o = c.as_object();
    s += (s.empty() ? "" : ", ") + std::string(o.at("check").as_string()) + " " +
         fixed(number(o.at("value")), 2);
  }
  return s.empty() ? "(combined)" : s;
}

// The query string of `flags list` from the filters given.
std::string list_target(const FlagsCommand& c) {
  std::string q;
  auto add = [&](const char* key, const std::string& value) {
    if (!value.empty()) q += std::string(q.empty() ? "?" : "&") + key + "=" + value;
  };
  add("region", c.region);
  add("check", c.check);
  add("min_confidence", c.min_confidence);
  add("player", c.player);
  add("limit", c.limit);
  return "/admin/flags" + q;
}

}  // namespace

std::string format_flag_table(const std::string& list_json) {
  const json::object o = json::parse(list_json).as_object();
  std::ostringstream out;
  out << std::left << std::setw(20) << "ID" << std::setw(10) << "PLAYER" << std::setw(7) << "REGION"
      << std::setw(7) << "CONF" << std::setw(9) << "TICK" << std::setw(25) << "TIME (UTC)"
      << std::setw(20) << "VERDICT"
      << "FIRED\n";
  const json::array& flags = o.at("flags").as_array();
  for (const json::value& v : flags) {
    const json::object& f = v.as_object();
    out << std::setw(20) << std::string(f.at("id").as_string()) << std::setw(10)
        << count(f.at("player")) << std::setw(7) << count(f.at("region")) << std::setw(7)
        << fixed(number(f.at("confidence")), 3) << std::setw(9) << count(f.at("tick"))
        << std::setw(25) << utc(count(f.at("server_ms"))) << std::setw(20)
        << verdict_text(f.at("verdict")) << fired_text(f.at("fired").as_array()) << "\n";
  }
  out << flags.size() << " of " << count(o.at("total")) << " flags\n";
  return out.str();
}

std::string format_flag_timeline(const std::string& flag_json) {
  const json::object f = json::parse(flag_json).as_object();
  std::ostringstream out;
  out << "flag " << std::string(f.at("id").as_string()) << ": player " << count(f.at("player"))
      << ", region " << count(f.at("region")) << ", tick " << count(f.at("tick")) << ", "
      << utc(count(f.at("server_ms"))) << " UTC\n";
  out << "confidence " << fixed(number(f.at("confidence")), 4);
  if (!f.at("score").is_null()) out << " (score z " << fixed(number(f.at("score")), 3) << ")";
  out << "; verdict: " << verdict_text(f.at("verdict"));
  if (!f.at("verdict").is_null()) {
    const json::object& v = f.at("verdict").as_object();
    out << " at " << utc(count(v.at("ms"))) << " UTC";
    if (!v.at("note").as_string().empty()) out << ": " << std::string(v.at("note").as_string());
  }
  out << "\n\nchecks (value 1 = at its threshold; fired at >= 1):\n";
  out << std::left << std::setw(12) << "  CHECK" << std::right << std::setw(10) << "VALUE"
      << std::setw(14) << "STATISTIC" << std::setw(12) << "THRESHOLD"
      << "\n";
  for (const json::value& c : f.at("checks").as_array()) {
    const json::object& o = c.as_object();
    const double value = number(o.at("value"));
    out << std::left << std::setw(12) << ("  " + std::string(o.at("check").as_string()))
        << std::right << std::setw(10) << fixed(value, 3) << std::setw(14)
        << fixed(number(o.at("statistic")), 4) << std::setw(12)
        << fixed(number(o.at("threshold")), 4) << (value >= 1 ? "  FIRED" : "") << "\n";
  }
  out << "\nevidence (the player's last actions, oldest first):\n";
  out << std::right << std::setw(6) << "SEQ" << std::setw(8) << "TICK" << std::setw(15)
      << "CLIENT MS" << std::setw(15) << "SERVER MS" << std::setw(8) << "KIND" << std::setw(18)
      << "POSITION" << std::setw(9) << "ASKED" << std::setw(9) << "GRANTED" << std::setw(8)
      << "REACH" << std::setw(13) << "LIMIT" << std::setw(5) << "OK"
      << "\n";
  for (const json::value& e : f.at("evidence").as_array()) {
    const json::object& o = e.as_object();
    const std::string position =
        "(" + fixed(number(o.at("x")), 1) + ", " + fixed(number(o.at("z")), 1) + ")";
    const double reach = number(o.at("reach"));
    out << std::setw(6) << count(o.at("seq")) << std::setw(8) << count(o.at("tick"))
        << std::setw(15) << count(o.at("client_ms")) << std::setw(15) << count(o.at("server_ms"))
        << std::setw(8) << std::string(o.at("kind").as_string()) << std::setw(18) << position
        << std::setw(9) << fixed(number(o.at("asked")), 2) << std::setw(9)
        << fixed(number(o.at("granted")), 2) << std::setw(8)
        << (reach < 0 ? std::string("-") : fixed(reach, 2)) << std::setw(13)
        << std::string(o.at("limit").as_string()) << std::setw(5)
        << (o.at("ok").as_bool() ? "yes" : "no") << "\n";
  }
  return out.str();
}

int run_flags_command(const FlagsCommand& c, std::ostream& out, std::ostream& err) {
  HttpResult r;
  if (c.command == "list") {
    r = http_call(c.target, "GET", list_target(c), c.token);
  } else if (c.command == "show") {
    r = http_call(c.target, "GET", "/admin/flags/" + c.id, c.token);
  } else if (c.command == "verdict") {
    const json::object body{{"verdict", c.verdict}, {"note", c.note}};
    r = http_call(c.target, "POST", "/admin/flags/" + c.id + "/verdict", c.token,
                  json::serialize(body));
  } else if (c.command == "recalibrate") {
    r = http_call(c.target, "POST", "/admin/anticheat/recalibrate", c.token);
  } else {
    err << "unknown flags command '" << c.command << "'\n";
    return 2;
  }
  if (r.status == 0) {
    err << r.error << "\n";
    return 2;
  }
  // A refusal is printed as the node gave it (its reason, or the recalibration's JSON).
  if (r.status != 200 || c.json || c.command == "recalibrate") {
    (r.status == 200 ? out : err) << (r.status == 200 ? ""
                                                      : "HTTP " + std::to_string(r.status) + ": ")
                                  << r.body;
    return r.status == 200 ? 0 : 1;
  }
  try {
    if (c.command == "list") {
      out << format_flag_table(r.body);
    } else {
      if (c.command == "verdict") out << "verdict kept (journaled, replicated):\n";
      out << format_flag_timeline(r.body);
    }
  } catch (const std::exception& e) {  // a node that answers something else
    err << "unexpected reply (" << e.what() << "):\n" << r.body;
    return 1;
  }
  return 0;
}

}  // namespace worldline::app
