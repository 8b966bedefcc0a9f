#include "app/events_cli.h"

#include <fstream>
#include <iomanip>
#include <iterator>
#include <ostream>
#include <sstream>

#include <boost/json.hpp>

#include "app/admin_http.h"
#include "region/director/event_definition.h"

namespace worldline::app {
namespace {

namespace json = boost::json;

double number(const json::value& v) {
  return v.is_double() ? v.as_double() : v.to_number<double>();
}

std::string fixed(double v, int digits) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(digits) << v;
  return o.str();
}

}  // namespace

std::string format_running_events(const std::string& running_json) {
  const json::object o = json::parse(running_json).as_object();
  std::ostringstream out;
  const json::array& running = o.at("running").as_array();
  out << std::left << std::setw(18) << "INSTANCE" << std::setw(20) << "EVENT" << std::setw(11)
      << "PHASE" << std::right << std::setw(5) << "TIER" << std::setw(11) << "NPCS ASKED"
      << std::setw(10) << "NPC CAP" << std::setw(11) << "OBJECTIVE" << std::setw(10) << "LENGTH S"
      << "\n";
  for (const json::value& v : running) {
    const json::object& i = v.as_object();
    const json::object& l = i.at("levers").as_object();
    const double length_s = (number(i.at("deadline_ms")) - number(i.at("started_ms"))) / 1000;
    out << std::left << std::setw(18) << std::string(i.at("instance").as_string()) << std::setw(20)
        << std::string(i.at("event").as_string()) << std::setw(11)
        << std::string(i.at("phase").as_string()) << std::right << std::setw(5)
        << number(i.at("tier")) << std::setw(11) << number(i.at("npcs_requested")) << std::setw(10)
        << number(l.at("npc_count")) << std::setw(11) << number(l.at("objective")) << std::setw(12)
        << fixed(length_s, 0) << "\n";
  }
  out << running.size() << " running; " << number(o.at("started")) << " started, "
      << number(o.at("completed")) << " completed, " << number(o.at("failed"))
      << " failed since the node started\n\n";
  out << std::left << std::setw(20) << "EVENT" << std::setw(10) << "TRIGGER" << std::setw(10)
      << "SLOT" << std::right << std::setw(16) << "PLAYERS IN AREA"
      << "\n";
  for (const json::value& v : o.at("slots").as_array()) {
    const json::object& s = v.as_object();
    out << std::left << std::setw(20) << std::string(s.at("event").as_string()) << std::setw(10)
        << std::string(s.at("trigger").as_string()) << std::setw(10)
        << std::string(s.at("phase").as_string()) << std::right << std::setw(16)
        << fixed(number(s.at("players_in_area")), 0) << "\n";
  }
  return out.str();
}

int run_events_command(const EventsCommand& c, std::ostream& out, std::ostream& err) {
  HttpResult r;
  if (c.command == "list") {
    r = http_call(c.target, "GET", "/admin/events", c.token);
  } else if (c.command == "running") {
    r = http_call(c.target, "GET", "/admin/events/running", c.token);
  } else if (c.command == "put") {
    std::ifstream in(c.file, std::ios::binary);
    if (!in) {
      err << c.file << ": cannot open the file\n";
      return 2;
    }
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (auto local = region::director::parse_event_catalog(text, c.file); !local) {
      err << local.error().message << "\n(nothing sent)\n";
      return 1;
    }
    r = http_call(c.target, "PUT", "/admin/events", c.token, text, std::chrono::seconds(10),
                  "application/toml");
  } else if (c.command == "rm") {
    r = http_call(c.target, "DELETE", "/admin/events/" + c.id, c.token);
  } else {
    err << "unknown events command '" << c.command << "'\n";
    return 2;
  }
  if (r.status == 0) {
    err << r.error << "\n";
    return 2;
  }
  if (r.status != 200) {
    err << "HTTP " << r.status << ": " << r.body;
    return 1;
  }
  if (c.command == "running" && !c.json) {
    try {
      out << format_running_events(r.body);
    } catch (const std::exception& e) {  // a node that answers something else
      err << "unexpected reply (" << e.what() << "):\n" << r.body;
      return 1;
    }
    return 0;
  }
  out << r.body;
  return 0;
}

}  // namespace worldline::app
