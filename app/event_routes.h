// The world-event content API on a node's admin HTTP (docs/world-events.md, "Content API"):
//   GET    /admin/events          the deployed definitions, as TOML that PUT takes back
//   PUT    /admin/events          deploy a whole catalog (TOML body); new instances use it
//   DELETE /admin/events/{id}     remove one definition (refused if another still names it)
//   GET    /admin/events/running  running instances and each definition's slot, as JSON
// and the director's Prometheus families. Bodies are parsed on the gateway's I/O thread; the
// director is touched only on the node's loop thread, through `on_world`.
#pragma once

#include <functional>
#include <string>

#include "app/event_npcs.h"
#include "app/prometheus.h"
#include "gateway/server.h"
#include "region/director/director.h"
#include "replica/replica.h"

namespace worldline::app {

class RegionApp;

// Runs `work` on the node's loop thread between ticks and answers with its reply (the node's
// on_world); returns HttpReply::later() or a refusal.
using OnLoop =
    std::function<gateway::HttpReply(std::function<gateway::HttpReply(replica::Replica&, bool&)>)>;

// For a path starting with /admin/events, from an admin (the caller checked the token).
// REQUIRES: `app` outlives the node's loop (the replies are computed there).
gateway::HttpReply event_routes(const gateway::HttpRequest& req, const std::string& path,
                                RegionApp& app, const OnLoop& on_loop);

// "active", "completed", "failed".
const char* to_string(region::director::InstancePhase phase);

// The running instances (with their spawn claims as `world` holds them, who has seen them, and
// the region they settled on) and slots, as GET /admin/events/running answers them.
std::string running_events_json(const region::director::Director& director,
                                const replica::Replica& world);

// worldline_director_* and worldline_forecast_* (the node's loop thread).
void director_metrics(PromText& p, const RegionApp& app, const replica::Replica& world);
// worldline_npcs_*: the NPCs this region spawns (EventNpcs), on the node's loop thread.
void npc_metrics(PromText& p, const NpcStats& npcs);

}  // namespace worldline::app
