#include "app/node_metrics.h"

#include "app/event_routes.h"
#include "app/prometheus.h"
#include "gateway/region_host.h"
#include "region/anticheat/flag_record.h"

namespace worldline::app {

std::string node_metrics(const NodeMetricsSources& s, std::uint64_t now) {
  PromText p(PromText::label("region", s.region_name));
  RegionApp& region = s.region;
  region::RegionPipeline& pipeline = region.pipeline();
  gateway::RegionHost& host = region.host();
  const replica::Replica& world = s.world;
  const auto& ps = pipeline.stats();
  p.counter("worldline_region_ticks_total", "Ticks run.", ps.ticks);
  p.counter("worldline_region_tick_overruns_total", "Ticks longer than the tick period.",
            ps.overruns);
  p.histogram("worldline_region_tick_duration_ms", "Tick duration.", ps.tick_ms);
  const replica::TickLoopStats& loop = s.node.loop;
  p.histogram("worldline_node_tick_turn_ms",
              "A tick's whole turn: ingest, region tick, group commit, publishing.", loop.turn_ms);
  p.counter("worldline_node_ticks_late_total",
            "Ticks whose turn ended after the next tick was due.", loop.late);
  p.counter("worldline_node_ticks_skipped_total",
            "Due times passed over because the tick loop fell a period behind.", loop.skipped);
  p.histogram("worldline_region_action_latency_ms", "Ingress stamp to processed.", ps.latency_ms);
  p.counter("worldline_region_actions_processed_total", "Actions processed.", ps.processed);
  p.counter("worldline_region_actions_forwarded_total",
            "Interactions resolved by the target's cell.", ps.forwarded);
  p.counter("worldline_region_handovers_total", "Actors handed to another cell.", ps.handovers);
  p.counter("worldline_region_splits_total", "Cell splits.", ps.splits);
  p.counter("worldline_region_merges_total", "Cell merges.", ps.merges);
  p.counter("worldline_region_splits_ahead_total",
            "Splits made for an expected load, of leaves the measured load would not split.",
            ps.splits_ahead);
  p.gauge("worldline_region_expectations_held", "Expected loads the partition holds now.",
          ps.expectations_held);
  p.counter("worldline_forecast_expectations_total",
            "Expected loads handed to the partitioner by the forecast (director.proactive).",
            region.expectations_made());
  p.gauge("worldline_region_cells", "Cells (leaves of the partition).",
          pipeline.partition().leaves().size());
  p.gauge("worldline_region_balance", "Max worker load / mean, at the last rebalance.",
          ps.last_rebalance.balance);
  const auto& rejected = pipeline.ingress().rejected();
  p.counter("worldline_region_rejected_total", "Actions refused at ingress, by reason.",
            rejected[0], PromText::label("reason", region::to_string(region::RejectReason{0})));
  for (int i = 1; i < region::kRejectReasons; ++i) {
    p.more("worldline_region_rejected_total", rejected[static_cast<std::size_t>(i)],
           PromText::label("reason", region::to_string(static_cast<region::RejectReason>(i))));
  }
  const region::QueueStats qs = pipeline.queue_stats();
  const auto& classes = pipeline.rules().classes;
  auto per_class = [&](const std::string& name, const std::string& help, bool counter,
                       const std::vector<std::uint64_t>& values) {
    for (std::size_t i = 0; i < classes.size(); ++i) {
      const double v = i < values.size() ? values[i] : 0;
      const std::string label = PromText::label("class", classes[i].name);
      if (i == 0) {
        counter ? p.counter(name, help, v, label) : p.gauge(name, help, v, label);
      } else {
        p.more(name, v, label);
      }
    }
  };
  per_class("worldline_region_queue_depth", "Actions waiting, by class.", false, qs.depth_by_class);
  per_class("worldline_region_deferred_total", "Action-ticks deferred by budgets, by class.", true,
            qs.deferred_by_class);
  per_class("worldline_region_forced_total", "Actions processed at their max wait, by class.", true,
            qs.forced_by_class);
  const auto hs = host.stats();
  p.gauge("worldline_gateway_sessions", "Client sessions attached.", hs.sessions);
  p.counter("worldline_gateway_actions_received_total", "Actions received from clients.",
            hs.actions_received);
  p.counter("worldline_gateway_rejects_total", "Rejects sent to clients.", hs.rejected);
  p.counter("worldline_gateway_state_frames_total", "State frames sent.", hs.state_frames);
  p.counter("worldline_gateway_authority_taken_total", "Players whose authority moved here.",
            hs.authority_taken);
  p.counter("worldline_gateway_authority_lost_total",
            "Players whose sessions here were closed because another region took their authority.",
            hs.authority_lost);
  p.histogram("worldline_gateway_ack_ms", "Action received to its ack published.", hs.ack_ms);
  if (s.dashboard_frame_ms) {
    p.histogram("worldline_dashboard_frame_ms",
                "Time to build one dashboard frame, on the node's loop.", *s.dashboard_frame_ms);
  }
  const auto ss = s.server;
  p.counter("worldline_gateway_connections_total", "WebSocket connections accepted.",
            ss.connections);
  p.counter("worldline_gateway_slow_consumers_total", "Clients cut for not reading.",
            ss.slow_consumers);
  p.gauge("worldline_http_pending", "HTTP requests waiting for the node's loop to answer.",
          ss.http_pending);
  p.counter("worldline_http_timeouts_total",
            "HTTP requests the loop did not answer in time (answered 503).", ss.http_timeouts);
  const region::anticheat::DetectorStats as = region.detector().stats();
  p.counter("worldline_anticheat_observed_total", "Actions the cheat detector observed.",
            as.observed);
  p.gauge("worldline_anticheat_players", "Players the cheat detector keeps a record of.",
          as.players);
  const region::anticheat::DetectorTapStats ts = region.detector_tap_stats();
  p.gauge("worldline_anticheat_behind_ticks",
          "Ticks handed to the detector thread and not yet observed.", ts.behind);
  p.counter("worldline_anticheat_waits_total",
            "Ticks that waited for a lagging detector thread (the tick paid for it).", ts.waits);
  p.counter("worldline_anticheat_detector_seconds_total",
            "Time the detector thread spent observing.", ts.detector_ms / 1000);
  p.counter("worldline_anticheat_flags_total", "Flags raised (each kept in the world).", as.flags);
  p.counter("worldline_anticheat_responses_total",
            "Flags answered by the configured response beyond the log (alert, throttle, kick).",
            region.flag_responses(), PromText::label("response", to_string(s.flag_response)));
  for (int i = 0; i < region::anticheat::kChecks; ++i) {
    const auto check = static_cast<region::anticheat::Check>(i);
    const std::string label = PromText::label("check", to_string(check));
    if (i == 0) {
      p.counter("worldline_anticheat_fired_total", "Flags in which a check fired, by check.",
                as.fired[static_cast<std::size_t>(i)], label);
    } else {
      p.more("worldline_anticheat_fired_total", as.fired[static_cast<std::size_t>(i)], label);
    }
  }
  p.counter("worldline_anticheat_verdicts_total", "Reviewers' verdicts written here, by verdict.",
            s.verdicts[0], PromText::label("verdict", "confirmed"));
  p.more("worldline_anticheat_verdicts_total", s.verdicts[1],
         PromText::label("verdict", "dismissed"));
  const auto& calibration = region.detector().config();
  p.gauge("worldline_anticheat_calibration",
          "The detector's Platt parameters in force: confidence = 1 / (1 + exp(-(a z + b))).",
          calibration.calibration_a, PromText::label("param", "a"));
  p.more("worldline_anticheat_calibration", calibration.calibration_b,
         PromText::label("param", "b"));
  if (region.director()) director_metrics(p, region, world);
  if (const auto* n = region.npcs()) npc_metrics(p, n->stats());
  const auto rs = world.stats(now);
  p.gauge("worldline_replica_next_seq", "Next delta group sequence number.", rs.next_seq);
  p.counter("worldline_replica_rejected_entries_total", "Remote entries refused.",
            rs.rejected_entries);
  p.gauge("worldline_replica_buffer_groups", "Delta groups kept for peers not yet acked.",
          rs.buffer_groups);
  p.counter("worldline_replica_rejected_messages_total", "Peer messages refused.",
            rs.rejected_messages);
  p.counter("worldline_replica_journal_failures_total", "Group commits the journal refused.",
            rs.journal_failures);
  const replica::NodeStats& ns = s.node;
  p.histogram("worldline_replica_journal_commit_us", "Synced LMDB group commit, microseconds.",
              ns.journal.commit_us);
  p.counter("worldline_replica_journal_bytes_total", "Bytes appended to the journal.",
            ns.journal.append_bytes);
  p.counter("worldline_replica_journal_snapshots_total", "Snapshots written.",
            ns.journal.snapshots);
  p.counter("worldline_replica_quarantined_total",
            "Journal records or snapshot entries that failed their checksum at recovery.",
            ns.journal.quarantined);
  p.counter("worldline_replica_auth_failures_total", "Peer logins refused.", ns.auth_failures);
  p.counter("worldline_replica_sessions_cut_total", "Peer sessions dropped for bad messages.",
            ns.sessions_cut);
  p.counter("worldline_replica_sessions_superseded_total",
            "Inbound peer sessions closed because the peer logged in again (after a partition "
            "its old connection may be dead without either side knowing).",
            ns.sessions_superseded);
  p.counter("worldline_replica_sends_dropped_total",
            "Gossip messages not sent: no session, over a link's waiting budget, or waiting "
            "when their session ended.",
            ns.sends_dropped);
  p.counter("worldline_replica_sends_superseded_total",
            "Delta parts dropped unsent because a newer transmission to the peer came.",
            ns.sends_superseded);
  p.counter("worldline_replica_sends_failed_total",
            "Deliveries to peers that failed, or had no answer when their session ended.",
            ns.sends_failed);
  p.gauge("worldline_replica_parts_waiting",
          "Delta parts waiting for a peer link's in-flight window (all peers).",
          static_cast<double>(ns.parts_waiting));
  p.counter("worldline_replica_silent_links_dropped_total",
            "Links to peers dropped because nothing was heard from them for too long (a silent "
            "partition); the node retries every second.",
            ns.silent_links_dropped);
  // Per peer: one family per figure, a sample per peer.
  auto per_peer = [&](const std::string& name, const std::string& help, bool counter, auto value) {
    bool first = true;
    for (const auto& [id, peer] : rs.peers) {
      const std::string label = PromText::label("peer", std::to_string(id));
      const double v = value(peer);
      if (!first) {
        p.more(name, v, label);
      } else if (counter) {
        p.counter(name, help, v, label);
      } else {
        p.gauge(name, help, v, label);
      }
      first = false;
    }
  };
  using Peer = replica::PeerStats;
  per_peer("worldline_replica_lag_ms", "Age of the oldest group a peer has not acked.", false,
           [](const Peer& x) { return x.lag_ms; });
  per_peer("worldline_replica_lag_groups", "Groups a peer has not acked.", false,
           [](const Peer& x) { return x.lag_groups; });
  per_peer("worldline_replica_peer_up", "1 if the failure detector holds the peer up.", false,
           [](const Peer& x) { return x.up ? 1 : 0; });
  per_peer("worldline_replica_bytes_sent_total", "Gossip bytes sent to a peer.", true,
           [](const Peer& x) { return x.bytes_sent; });
  per_peer("worldline_replica_bytes_received_total", "Gossip bytes received from a peer.", true,
           [](const Peer& x) { return x.bytes_received; });
  per_peer("worldline_replica_full_states_sent_total",
           "Whole-state or digest-diff transfers to a peer.", true,
           [](const Peer& x) { return x.full_states_sent; });
  per_peer("worldline_replica_refused_intervals_total",
           "A peer's transmissions not acknowledged: an entry was refused.", true,
           [](const Peer& x) { return x.refused_intervals; });
  p.histogram("worldline_replica_convergence_ms", "Commit to acked by every peer.",
              rs.convergence_ms);
  return p.str();
}

}  // namespace worldline::app
