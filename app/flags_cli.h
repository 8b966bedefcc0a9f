// `worldline flags list|show|verdict|recalibrate`: the investigators' review from a terminal,
// over a node's admin HTTP routes (docs/anticheat.md, "Review workflow"), through http_call
// (app/admin_http.h).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

#include "app/admin_http.h"

namespace worldline::app {

struct FlagsCommand {
  std::string command;  // list, show, verdict, recalibrate
  std::string target, token;
  // list: filters, passed on as the route's query parameters when set.
  std::string region, check, min_confidence, player, limit;
  std::string id;  // show, verdict
  std::string verdict, note;
  bool json = false;  // print the node's JSON as it came
};

// Prints a table (list), a timeline (show) or the outcome; returns the process exit code: 0 done,
// 1 the node refused (its reason printed), 2 no reply.
int run_flags_command(const FlagsCommand& command, std::ostream& out, std::ostream& err);

// The readable forms, from the routes' JSON (exposed for tests).
std::string format_flag_table(const std::string& list_json);
std::string format_flag_timeline(const std::string& flag_json);

}  // namespace worldline::app
