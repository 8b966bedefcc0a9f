#include "app/region_app.h"

#include <algorithm>
#include <array>
#include <cmath>

#include <spdlog/spdlog.h>

#include "region/anticheat/flag_record.h"

namespace worldline::app {

RegionApp::RegionApp(RegionAppOptions options, crdt::PhysicalClock& wall)
    : options_(std::move(options)), wall_(wall), rules_(options_.game) {}

RegionApp::~RegionApp() = default;

bool RegionApp::start(replica::Replica& world) {
  clock_ = std::make_unique<crdt::HlcClock>(world.id(), wall_, options_.max_clock_skew_ms);
  // The clock starts past every stamp the recovered state holds: a node restarting with a wall
  // clock behind the stamps it (or a peer ahead of it) wrote before would otherwise stamp new
  // writes older than its own earlier ones, and lose them to those under LWW (found by the node
  // simulation: a player's last acknowledged move, written after a restart, lost to its previous
  // position). Its own stamps are followed however far ahead they are (a wall clock stepped back
  // at boot, e.g. by NTP, must not make it stamp older than it already did); a peer's stamp
  // beyond the skew bound is not (HlcClock::receive refuses it).
  std::size_t beyond_bound = 0;
  for (const auto& [key, value] : world.store().entries()) {
    if (const auto stamp = replica::newest_stamp(value)) {
      if (stamp->node == world.id()) {
        clock_->catch_up(*stamp);
      } else if (!clock_->receive(*stamp)) {
        ++beyond_bound;
      }
    }
  }
  if (beyond_bound) {
    spdlog::warn(
        "region {}: {} recovered stamps are further ahead of this node's clock than the "
        "skew bound ({} ms): not followed; is the clock right?",
        options_.host.region_name, beyond_bound, options_.max_clock_skew_ms);
  }
  world.set_clock(clock_.get());  // peers' stamps merge into it (the app outlives the replica)
  // Flag ids: this region's id above bit 48, below it a sequence that starts past the HLC's
  // milliseconds × 16 (the clock now starts past every recovered stamp) and past every id this
  // region already kept — so a restart never gives an id again, even with a wall clock set back.
  for (const auto& [key, value] : world.store().entries()) {
    if (key.component != region::anticheat::kFlagsComponent) continue;
    for (const std::string& line : replica::value_as<crdt::Buffs>(value).elements()) {
      const auto record = region::anticheat::parse_flag_record(line);
      if (record && record.value().score && record.value().region == world.id()) {
        last_flag_seq_ = std::max(last_flag_seq_, record.value().flag.id & kFlagSeqMask);
      }
    }
  }
  region::anticheat::AnticheatConfig anticheat = options_.anticheat;
  anticheat.region = world.id();
  anticheat.pace = rules_.move_pace();
  anticheat.attack_range = options_.game.attack_range;
  anticheat.pickup_range = options_.game.pickup_range;
  anticheat.attack_cooldown_ticks = options_.game.attack_cooldown_ticks;
  anticheat.tick_ms = options_.pipeline.tick_period_ms;
  detector_ = std::make_unique<region::anticheat::Detector>(anticheat);
  if (options_.director) {
    npcs_ = std::make_unique<EventNpcs>(options_.npcs);
    record_npc_hits();
  }
  pipeline_ = std::make_unique<region::RegionPipeline>(options_.pipeline, options_.rules, rules_,
                                                       world, *clock_);
  tap_ = std::make_unique<region::anticheat::DetectorTap>(
      *detector_, options_.detector_thread && anticheat.enabled, 8, options_.detector_nice);
  if (anticheat.enabled) {
    players_only_ = std::make_unique<PlayersOnlyObserver>(*tap_);
    pipeline_->set_observer(players_only_.get());
  }
  host_ = std::make_unique<gateway::RegionHost>(options_.host, *pipeline_, rules_, world, *clock_);
  if (options_.director) {
    region::director::DirectorOptions d;
    d.world = options_.pipeline.partition.world;
    d.forecast_grid = options_.forecast_grid;
    director_ = std::make_unique<region::director::Director>(d, options_.events);
  }
  return true;
}

void RegionApp::tick(replica::Replica& world, std::uint64_t now_ms) {
  // NPCs decide from the world the last tick left, and act in this one like players: their
  // actions are stamped and queued before the tick, with the players' arriving through the host.
  if (npcs_) npcs_->act(world, *pipeline_, tick_ + 1, wall_.now_ms());
  // Tick numbers count the ticks that ran. Per-tick limits (the movement budget, cooldowns)
  // follow them: a node that falls behind and skips ticks slows its players down rather than
  // letting them catch up in one jump. (Numbering ticks by elapsed periods instead broke the
  // scheduler, whose waits are counted in ticks run, and ran fast at tick rates whose period is
  // not a whole number of ms — review of 2026-12-07.)
  host_->tick(++tick_, now_ms);
  if (npcs_) npcs_->take_hits();
  tap_->end_tick();  // the detector observes this tick beside the next (or here, inline)
  if (finishing_) tap_->drain();  // the last tick: every flag raised goes into its group
  record_flags(world);
  // Every region says "seen" to the spawn claims it holds, director or not: settling waits for
  // every region of the deployment (docs/world-events.md, One spawner).
  see_claims(world);
  if (director_) {
    direct(world);
    act_ahead();
  }
}

// The flags the tick raised go into the flagged player's `anticheat_flags` set, in this tick's
// group: journaled and replicated like the actions that raised them, so any region's reviewers
// see them and they survive restarts.
void RegionApp::record_flags(replica::Replica& world) {
  for (region::anticheat::Flag& f : detector_->take_flags()) {
    // The detector's ids restart with the process; the world's must not (see start()).
    last_flag_seq_ = std::max(last_flag_seq_ + 1, clock_->now().physical_ms << 4) & kFlagSeqMask;
    f.id = (static_cast<std::uint64_t>(world.id()) << 48) | last_flag_seq_;
    std::string fired;
    for (const auto& v : f.fired)
      fired += std::string(fired.empty() ? "" : ", ") + to_string(v.check) + " " +
               std::to_string(v.feature).substr(0, 4);
    spdlog::warn("region {}: anticheat flag {} on player {}: confidence {:.3f} ({}), tick {}",
                 options_.host.region_name, f.id, f.player, f.confidence,
                 fired.empty() ? "combined evidence" : fired, f.tick);
    respond(f);
    // At most kFlagsKeptPerPlayer lines per player in the world (every region's together): a
    // cheater flagged again every reflag period would otherwise grow a replicated set forever.
    // Later flags are logged and counted, not kept.
    const replica::Key key{f.player, region::anticheat::kFlagsComponent};
    if (const replica::ComponentValue* held = world.store().get(key);
        held && replica::value_as<crdt::Buffs>(*held).elements().size() >= kFlagsKeptPerPlayer) {
      ++flags_not_kept_;
      continue;
    }
    std::array<double, region::anticheat::kChecks> features{};
    for (std::size_t i = 0; i < features.size(); ++i)
      features[i] = f.all[i].feature;
    const double z = detector_->score(features);
    const std::string line = region::anticheat::format_flag(
        region::anticheat::FlagRecord{f, static_cast<std::uint32_t>(world.id()), z});
    (void)world.write(replica::Key{f.player, region::anticheat::kFlagsComponent},
                      [&](replica::ComponentValue& v) -> std::optional<replica::ComponentValue> {
                        return replica::value_as<crdt::Buffs>(v).add(world.id(), line);
                      });
    ++flags_recorded_;
  }
}

const char* to_string(FlagResponse r) {
  switch (r) {
    case FlagResponse::kLog:
      return "log";
    case FlagResponse::kAlert:
      return "alert";
    case FlagResponse::kThrottle:
      return "throttle";
    case FlagResponse::kKick:
      return "kick";
  }
  return "?";
}

std::optional<FlagResponse> flag_response_from(std::string_view name) {
  for (FlagResponse r :
       {FlagResponse::kLog, FlagResponse::kAlert, FlagResponse::kThrottle, FlagResponse::kKick}) {
    if (name == to_string(r)) return r;
  }
  return std::nullopt;
}

// The configured response to one flag, beyond the warn line every flag gets. A player flagged
// again (every reflag period while the evidence holds) is answered again: a throttle renewed, a
// kick repeated if it came back.
void RegionApp::respond(const region::anticheat::Flag& f) {
  switch (options_.flag_response) {
    case FlagResponse::kLog:
      return;
    case FlagResponse::kAlert:
      spdlog::error(
          "region {}: ALERT anticheat flag {} on player {}: confidence {:.3f} — review "
          "it: GET /admin/flags/{}",
          options_.host.region_name, f.id, f.player, f.confidence, f.id);
      break;
    case FlagResponse::kThrottle:
      if (options_.throttle) {
        options_.throttle(f.player, options_.throttle_actions_per_s,
                          static_cast<std::uint64_t>(options_.throttle_seconds * 1000));
      }
      spdlog::warn("region {}: player {} throttled to {} actions/s for {} s (flag {})",
                   options_.host.region_name, f.player, options_.throttle_actions_per_s,
                   options_.throttle_seconds, f.id);
      break;
    case FlagResponse::kKick: {
      const std::size_t closed =
          host_->kick(f.player, "disconnected by the cheat detection (flag " +
                                    std::to_string(f.id) + "); you may reconnect");
      spdlog::warn("region {}: player {} kicked ({} sessions closed; flag {})",
                   options_.host.region_name, f.player, closed, f.id);
      break;
    }
  }
  ++flag_responses_;
}

void RegionApp::after_commit(const replica::Replica&, bool durable, std::optional<std::uint64_t>,
                             std::uint64_t now_ms) {
  // Acks only for what is durable: on a journal failure the group stays open and the next
  // successful commit publishes these outcomes.
  if (durable) host_->publish(now_ms);
}

}  // namespace worldline::app
