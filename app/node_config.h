// RegionNodeConfig: what a region node's TOML file says (`worldline node --config F`): the
// [replica], [region], [gateway], [anticheat], [director] and [dashboard] tables, read and checked
// field by field. The format is documented in docs/node.md; docs/examples/ has a commented file
// per region of a three-region cluster.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "app/dashboard.h"
#include "app/region_app.h"
#include "gateway/server.h"
#include "region/anticheat/detector.h"
#include "region/director/event_definition.h"
#include "region/pipeline.h"
#include "replica/node_config.h"

namespace worldline::app {

struct RegionNodeConfig {
  replica::ReplicaNodeConfig replica;
  std::string region_name;
  double tick_hz = 20;
  region::PipelineOptions pipeline;
  region::GameConfig game;
  region::PriorityRules rules = region::PriorityRules::defaults();
  double interest_radius = 60;
  crdt::Vec3 spawn{0, 0, 0};
  double spawn_radius = 200;
  gateway::ServerOptions gateway;
  region::anticheat::AnticheatConfig anticheat;
  // [anticheat] response, throttle_actions_per_s, throttle_seconds (RegionAppOptions).
  FlagResponse flag_response = FlagResponse::kLog;
  // [anticheat] detector_thread (RegionAppOptions); absent: on when the machine has a core for it
  // (detector_thread_by_default).
  std::optional<bool> detector_thread;
  int detector_nice = 0;  // [anticheat] detector_nice: the detector thread's niceness, 0..19
  double throttle_actions_per_s = 2, throttle_seconds = 60;
  // POST /admin/anticheat/recalibrate refuses with fewer reviewed flags than this.
  std::size_t recalibrate_min_reviewed = 20;
  // [director] (docs/world-events.md): the world-event director, its forecast grid and the
  // definitions deployed at start (`events`, a file; PUT /admin/events replaces them at run time).
  bool director = true;
  int forecast_grid = 4;
  region::director::EventCatalog events;
  bool proactive = true;      // [director] proactive: the forecast splits cells ahead of a crowd
  DashboardConfig dashboard;  // [dashboard] (docs/dashboard.md)
};

// Reads [replica], [region], [gateway], [anticheat], [director] and [dashboard]; every error names
// the file and the field.
crdt::Result<RegionNodeConfig> parse_region_node_config(const std::string& toml_text,
                                                        const std::string& source_name);
crdt::Result<RegionNodeConfig> load_region_node_config(const std::string& path);

}  // namespace worldline::app
