// RegionApp: a region as the node's loop runs it — the region's HLC clock, pipeline, game rules
// and host (gateway/region_host.h), built once the replica is recovered. Every tick it drains the
// host's inbox into the pipeline and runs the region's tick (its writes join the tick's delta
// group); after a durable group commit it publishes the tick's acks, rejects and state frames.
// The real node (app/region_node.cc) adds the WebSocket server, HTTP and metrics around it; the
// whole-node simulation (tests/node/) attaches simulated clients to its host directly.
// Thread safety: the node's loop thread, except RegionHost's attach/submit/detach (any thread).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <vector>

#include <cstdint>
#include <memory>

#include "app/event_npcs.h"
#include "crdt/hlc.h"
#include "gateway/region_host.h"
#include "region/anticheat/detector.h"
#include "region/anticheat/detector_tap.h"
#include "region/director/director.h"
#include "region/director/spawn_claims.h"
#include "region/game_rules.h"
#include "region/pipeline.h"
#include "replica/node_loop.h"

namespace worldline::app {

// What the node does with a player the cheat detection flags ([anticheat] response,
// docs/anticheat.md). Never an automatic ban: a human reviews the flag (GET /admin/flags).
enum class FlagResponse { kLog, kAlert, kThrottle, kKick };
const char* to_string(FlagResponse r);
std::optional<FlagResponse> flag_response_from(std::string_view name);

struct RegionAppOptions {
  gateway::HostOptions host;
  region::PipelineOptions pipeline;
  region::GameConfig game;
  region::PriorityRules rules = region::PriorityRules::defaults();
  // Its movement pace, ranges and region id are taken from `game` and the replica at start().
  region::anticheat::AnticheatConfig anticheat;
  // Run the detector on a thread of its own, beside the next tick (region/anticheat/
  // detector_tap.h): the tick pays a copy per action instead of the checks. False: inline, at
  // the end of the tick.
  bool detector_thread = true;
  // The detector thread's niceness (0..19; docs/anticheat.md, "Cost"). 19 leaves the cores to
  // the workers and the loop whenever they are runnable, but the loop then waits on a starved
  // thread wherever it takes a lock the detector holds: 0 by default.
  int detector_nice = 0;
  std::uint64_t max_clock_skew_ms = 10'000;  // peers' stamps further ahead are held back
  // Every flag is logged (warn) and kept in the world; then, by `flag_response`: kAlert logs it
  // at error level as well (for a log-based alert) and counts it; kThrottle holds the player to
  // throttle_actions_per_s for throttle_seconds (through `throttle`, the node's gateway);
  // kKick closes its sessions here (error 4014), and it may come back.
  FlagResponse flag_response = FlagResponse::kLog;
  double throttle_actions_per_s = 2;
  double throttle_seconds = 60;
  std::function<void(std::uint64_t player, double actions_per_s, std::uint64_t for_ms)> throttle;
  // The world-event director (docs/world-events.md): fed after every tick; false: none. Its
  // forecast grid covers pipeline.partition.world; `events` is the catalog deployed at start.
  bool director = true;
  int forecast_grid = 4;
  region::director::EventCatalog events;
  // Load prediction acting ahead (docs/world-events.md, "Load forecast"): after each director
  // step, the squares about to fill are expected to carry their forecast for the forecast's
  // horizon (RegionPipeline::expect_load); false: the partitioner reacts to measured load only.
  bool proactive = true;
  region::director::ProactiveOptions proactive_options;
  // How the NPCs of the instances this region spawns behave (region/director/npc.h).
  region::director::NpcBehaviour npcs;
};

class RegionApp final : public replica::NodeApp {
 public:
  // REQUIRES: `wall` outlives the app (the region's HLC reads it).
  RegionApp(RegionAppOptions options, crdt::PhysicalClock& wall);
  ~RegionApp() override;

  bool start(replica::Replica& world) override;
  // The final tick waits for the detector, so that its last flags are kept in the world.
  void finishing() override { finishing_ = true; }
  void tick(replica::Replica& world, std::uint64_t now_ms) override;
  void after_commit(const replica::Replica& world, bool durable,
                    std::optional<std::uint64_t> committed, std::uint64_t now_ms) override;

  bool started() const { return host_ != nullptr; }
  // The handler table; a studio's own rules go in before start() (GameRules::set).
  region::GameRules& rules() { return rules_; }
  // REQUIRES: started().
  gateway::RegionHost& host() { return *host_; }
  region::RegionPipeline& pipeline() { return *pipeline_; }
  crdt::HlcClock& clock() { return *clock_; }
  const region::anticheat::Detector& detector() const { return *detector_; }
  // A reviewers' refit of the detector's Platt parameters, for the flags raised from the next
  // tick. REQUIRES: started(), between ticks (the node's loop thread).
  void set_calibration(double a, double b) {
    tap_->while_idle([&](region::anticheat::Detector& d) { d.set_calibration(a, b); });
  }
  // REQUIRES: started().
  region::anticheat::DetectorTapStats detector_tap_stats() const { return tap_->stats(); }
  std::uint64_t flags_recorded() const { return flags_recorded_; }
  std::uint64_t flags_not_kept() const { return flags_not_kept_; }  // over kFlagsKeptPerPlayer
  // Flags answered by the configured response beyond the log (alerts, throttles, kicks).
  std::uint64_t flag_responses() const { return flag_responses_; }
  static constexpr std::size_t kFlagsKeptPerPlayer = 16;
  static constexpr std::uint64_t kFlagSeqMask = (std::uint64_t{1} << 48) - 1;
  std::uint64_t ticks() const { return tick_; }
  // The world-event director; nullptr when options.director is false or before start().
  region::director::Director* director() { return director_.get(); }
  const region::director::Director* director() const { return director_.get(); }
  // An event instance's spawn claims as this replica holds them (empty: none seen yet).
  static region::director::SpawnClaims event_claims(const replica::Replica& world,
                                                    region::director::InstanceId instance);
  // Every region of the deployment: this one and its configured peers.
  static region::director::Membership membership(const replica::Replica& world);
  // The region that spawns an event instance: the settled winner of its claims (nullopt until
  // every region has seen them: docs/world-events.md, One spawner).
  static std::optional<std::uint64_t> event_spawner(const replica::Replica& world,
                                                    region::director::InstanceId instance);
  // Ended instances (completed or failed) whose NPCs this region spawned.
  std::uint64_t events_spawned() const { return events_spawned_; }
  // Running instances this region claimed or started, waiting for their claims to settle before
  // the winner spawns their NPCs.
  std::size_t spawns_awaiting_settlement() const { return awaiting_settlement_.size(); }
  // Expected loads handed to the partitioner (and held by it) since start.
  std::uint64_t expectations_made() const { return expectations_made_; }
  // The NPCs of the instances this region spawns; nullptr without a director or before start().
  const EventNpcs* npcs() const { return npcs_.get(); }

 private:
  void record_flags(replica::Replica& world);
  void direct(replica::Replica& world);
  void act_ahead();
  void claim_spawn(replica::Replica& world, region::director::InstanceId instance);
  // Adds this region's "seen" to every instance's claims it holds and has not seen yet.
  void see_claims(replica::Replica& world);
  // Spawns the NPCs of the instances whose claims settled on this region; forgets the others'.
  void spawn_settled(replica::Replica& world);
  // The spawner ended the instance: its id spawns nothing again ("ended" in its claims).
  void mark_ended(replica::Replica& world, region::director::InstanceId instance);
  // Hooks the attack rule's target half: a player's hit on an NPC is recorded (EventNpcs).
  void record_npc_hits();

  RegionAppOptions options_;
  crdt::PhysicalClock& wall_;
  region::GameRules rules_;
  std::unique_ptr<crdt::HlcClock> clock_;
  std::unique_ptr<region::anticheat::Detector> detector_;  // before the tap that feeds it
  std::unique_ptr<region::anticheat::DetectorTap> tap_;    // before the pipeline that calls it
  std::unique_ptr<PlayersOnlyObserver> players_only_;      // tap_ without NPCs, the same
  std::unique_ptr<region::RegionPipeline> pipeline_;
  std::unique_ptr<gateway::RegionHost> host_;
  std::unique_ptr<region::director::Director> director_;
  std::unique_ptr<EventNpcs> npcs_;                       // with director_
  std::vector<region::CellLoad> cell_loads_;              // reused every tick
  std::vector<region::director::CellCount> cell_counts_;  // reused every tick
  std::uint64_t director_ms_ = 0;     // the director's clock: wall ms, never decreasing
  bool director_clock_held_ = false;  // the wall clock is over a second behind director_ms_
  std::uint64_t events_spawned_ = 0;  // ended instances whose NPCs it spawned
  // Running instances started here whose claims have not settled: the NPCs asked for so far.
  std::map<region::director::InstanceId, std::uint32_t> awaiting_settlement_;
  std::set<region::director::InstanceId> seen_claims_;  // instances whose claims it has seen
  std::uint64_t samples_acted_on_ = 0;  // the director step act_ahead() last acted on
  std::uint64_t expectations_made_ = 0;
  std::uint64_t tick_ = 0;  // the last tick's number: ticks run
  bool finishing_ = false;

  void respond(const region::anticheat::Flag& flag);

  std::uint64_t flags_recorded_ = 0, flags_not_kept_ = 0, flag_responses_ = 0;
  // The low 48 bits of the last flag id this region gave: (HLC ms << 4) or one past the last,
  // whichever is greater, so ids never repeat across restarts (docs/anticheat.md, "Flag ids").
  std::uint64_t last_flag_seq_ = 0;
};

}  // namespace worldline::app
