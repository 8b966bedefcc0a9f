// `worldline events list|running|put|rm`: world-event definitions deployed, replaced and removed
// from a terminal over a node's admin HTTP (/admin/events, app/event_routes.h), and the running
// instances shown (docs/world-events.md, "Content API").
#pragma once

#include <iosfwd>
#include <string>

namespace worldline::app {

struct EventsCommand {
  std::string command;  // list, running, put, rm
  std::string target, token;
  std::string file;   // put: a definitions file (TOML)
  std::string id;     // rm
  bool json = false;  // running: print the node's JSON as it came
};

// Returns the process exit code: 0 done, 1 refused (the node's or the local check's reason
// printed), 2 no reply or no file. `put` checks the file locally first, so a mistake is named
// with the file's own name before anything is sent.
int run_events_command(const EventsCommand& command, std::ostream& out, std::ostream& err);

// The table `events running` prints, from GET /admin/events/running (exposed for tests).
std::string format_running_events(const std::string& running_json);

}  // namespace worldline::app
