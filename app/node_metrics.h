// The Prometheus text a region node serves at /metrics (the families are listed in docs/node.md):
// its region (ticks, queues, partition), gateway, HTTP, cheat detection, world events, NPCs,
// replica and journal, and the dashboard's frame time. Composed on the node's loop thread, which
// owns everything it reads, every 250 ms.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "app/region_app.h"
#include "gateway/server.h"
#include "replica/node_loop.h"
#include "replica/replica.h"
#include "replica/rpc_node.h"

namespace worldline::app {

// What /metrics reads besides the region. References are the node's own, read on its loop.
struct NodeMetricsSources {
  const std::string& region_name;
  RegionApp& region;  // its pipeline, host, detector, director and NPCs
  const replica::Replica& world;
  const replica::NodeStats& node;  // the tick loop's, the journal's and the links' figures
  gateway::ServerStats server;
  FlagResponse flag_response;
  std::array<std::uint64_t, 2> verdicts;                   // written here: confirmed, dismissed
  const replica::Histogram* dashboard_frame_ms = nullptr;  // null: the dashboard is off
};

// The whole /metrics text for `now` (steady ms). Loop thread only.
std::string node_metrics(const NodeMetricsSources& s, std::uint64_t now);

}  // namespace worldline::app
