// Reading a region node's TOML config (node_config.h): each table, each field checked, every
// error naming the file and the field.
#include "app/node_config.h"

#include <toml++/toml.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "gateway/token.h"

namespace worldline::app {
namespace {

crdt::Error config_error(const std::string& source, const std::string& what) {
  return crdt::make_error(crdt::ErrorCode::kInvalidArgument, source + ": " + what);
}

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

crdt::Result<RegionNodeConfig> parse_region_node_config(const std::string& text,
                                                        const std::string& source) {
  auto replica = replica::parse_node_config(text, source);
  if (!replica) return replica.error();
  RegionNodeConfig c;
  c.replica = std::move(replica).value();
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return config_error(source, std::string("TOML syntax: ") + std::string(e.description()));
  }
  const toml::table empty;
  const toml::table& r = root["region"].as_table() ? *root["region"].as_table() : empty;
  c.region_name = r["name"].value_or("region-" + std::to_string(c.replica.id));
  c.tick_hz = r["tick_hz"].value_or(20.0);
  if (!(c.tick_hz >= 1 && c.tick_hz <= 120)) return config_error(source, "region.tick_hz: 1..120");
  c.pipeline.tick_period_ms = 1000.0 / c.tick_hz;
  c.pipeline.partition.workers = static_cast<int>(r["workers"].value_or<std::int64_t>(2));
  if (c.pipeline.partition.workers < 1 || c.pipeline.partition.workers > 256) {
    return config_error(source, "region.workers: 1..256");
  }
  if (const toml::array* w = r["world"].as_array()) {
    if (w->size() != 4) return config_error(source, "region.world is [min_x, min_z, max_x, max_z]");
    double v[4];
    for (std::size_t i = 0; i < 4; ++i) {
      const auto d = (*w)[i].value<double>();
      if (!d || !std::isfinite(*d)) return config_error(source, "region.world: numbers");
      v[i] = *d;
    }
    if (!(v[0] < v[2] && v[1] < v[3])) return config_error(source, "region.world: min < max");
    c.pipeline.partition.world = {v[0], v[1], v[2], v[3]};
    c.pipeline.limits.world.min = {v[0], c.pipeline.limits.world.min.y, v[1]};
    c.pipeline.limits.world.max = {v[2], c.pipeline.limits.world.max.y, v[3]};
  }
  const std::int64_t spin_us =
      r["spin_us"].value_or<std::int64_t>(region::TickWorkers::kDefaultSpin.count());
  if (spin_us < 0 || spin_us > 10'000) return config_error(source, "region.spin_us: 0..10000");
  c.pipeline.worker_spin = std::chrono::microseconds(spin_us);
  c.pipeline.partition.split_load =
      static_cast<std::uint32_t>(r["split_load"].value_or<std::int64_t>(4000));
  c.pipeline.partition.merge_load =
      static_cast<std::uint32_t>(r["merge_load"].value_or<std::int64_t>(1000));
  if (c.pipeline.partition.merge_load > c.pipeline.partition.split_load ||
      c.pipeline.partition.split_load == 0) {
    return config_error(source, "region.split_load must be > 0 and >= merge_load");
  }
  c.pipeline.ghost_margin = r["ghost_margin"].value_or(8.0);
  c.interest_radius = r["interest_radius"].value_or(60.0);
  c.spawn_radius = r["spawn_radius"].value_or(200.0);
  if (!(c.interest_radius > 0) || !(c.spawn_radius >= 0)) {
    return config_error(source, "region.interest_radius > 0 and region.spawn_radius >= 0");
  }
  c.game.max_speed_per_tick = r["max_speed_per_tick"].value_or(10.0);
  const std::int64_t catch_up = r["move_catch_up_ticks"].value_or<std::int64_t>(20);
  const std::int64_t lead = r["move_lead_ticks"].value_or<std::int64_t>(3);
  const std::int64_t step = r["move_max_step_ticks"].value_or<std::int64_t>(3);
  if (!(c.game.max_speed_per_tick > 0) || !std::isfinite(c.game.max_speed_per_tick) ||
      catch_up < 1 || catch_up > 10'000 || lead < 0 || lead > 10'000 || step < 1 || step > 10'000) {
    return config_error(source,
                        "region.max_speed_per_tick > 0, region.move_catch_up_ticks 1..10000, "
                        "region.move_lead_ticks 0..10000, region.move_max_step_ticks 1..10000");
  }
  c.game.move_catch_up_ticks = static_cast<std::uint32_t>(catch_up);
  c.game.move_lead_ticks = static_cast<std::uint32_t>(lead);
  c.game.move_max_step_ticks = static_cast<std::uint32_t>(step);
  c.game.attack_range = r["attack_range"].value_or(5.0);
  c.game.attack_damage = r["attack_damage"].value_or<std::int64_t>(10);
  c.game.attack_cooldown_ticks =
      static_cast<std::uint32_t>(r["attack_cooldown_ticks"].value_or<std::int64_t>(2));
  c.game.spawn_health = r["spawn_health"].value_or<std::int64_t>(100);
  if (c.pipeline.ghost_margin < c.game.attack_range) {
    return config_error(source, "region.ghost_margin must be at least region.attack_range");
  }
  c.game.aim_tolerance_deg = r["aim_tolerance_deg"].value_or(10.0);
  if (!(c.game.aim_tolerance_deg > 0) || !(c.game.aim_tolerance_deg <= 180)) {
    return config_error(source, "region.aim_tolerance_deg: more than 0, at most 180");
  }
  if (const toml::node* n = r.get("require_aim"); n && !n->is_boolean()) {
    return config_error(source, "region.require_aim: true or false");
  }
  c.game.require_aim = r["require_aim"].value_or(false);
  c.game.pickup_range = r["pickup_range"].value_or(5.0);
  if (!(c.game.pickup_range > 0) || !std::isfinite(c.game.pickup_range)) {
    return config_error(source, "region.pickup_range must be > 0");
  }
  const std::int64_t items = r["items"].value_or<std::int64_t>(0);
  if (items < 0 || items > 1'000'000) return config_error(source, "region.items: 0..1000000");
  region::ItemField& field = c.game.items;
  field.count = static_cast<std::uint32_t>(items);
  const std::int64_t first =
      r["first_item_id"].value_or<std::int64_t>(static_cast<std::int64_t>(field.first_id));
  if (first < 1 || first + items > (std::int64_t{1} << 53)) {
    return config_error(source, "region.first_item_id: 1.., and the last item id below 2^53");
  }
  field.first_id = static_cast<crdt::EntityId>(first);
  const region::Rect& world = c.pipeline.partition.world;
  double area[4] = {world.min_x, world.min_z, world.max_x, world.max_z};
  if (const toml::array* a = r["item_area"].as_array()) {
    if (a->size() != 4) {
      return config_error(source, "region.item_area is [min_x, min_z, max_x, max_z]");
    }
    for (std::size_t i = 0; i < 4; ++i) {
      const auto d = (*a)[i].value<double>();
      if (!d || !std::isfinite(*d)) return config_error(source, "region.item_area: numbers");
      area[i] = *d;
    }
    if (!(area[0] < area[2] && area[1] < area[3])) {
      return config_error(source, "region.item_area: min < max");
    }
    if (area[0] < world.min_x || area[1] < world.min_z || area[2] > world.max_x ||
        area[3] > world.max_z) {
      return config_error(source, "region.item_area must lie inside region.world");
    }
  }
  field.min_x = area[0];
  field.min_z = area[1];
  field.max_x = area[2];
  field.max_z = area[3];
  if (auto rules_file = r["rules"].value<std::string>()) {
    const auto text_rules = read_file(*rules_file);
    if (!text_rules) return config_error(source, "region.rules cannot be read: " + *rules_file);
    auto rules = region::PriorityRules::parse(*text_rules, *rules_file);
    if (!rules) return rules.error();
    c.rules = std::move(rules).value();
  }

  const toml::table* g = root["gateway"].as_table();
  if (!g) return config_error(source, "missing [gateway] table");
  c.gateway.listen = (*g)["listen"].value_or(std::string());
  if (c.gateway.listen.find(':') == std::string::npos) {
    return config_error(source, "gateway.listen must be host:port");
  }
  if (const toml::node* admin = g->get("admin_listen")) {
    const auto address = admin->value<std::string>();
    if (!address) return config_error(source, "gateway.admin_listen must be a string, ip:port");
    if (auto ok = gateway::check_listen_address(*address); !ok) {
      return config_error(source, "gateway.admin_listen: " + ok.error().message);
    }
    const bool any_port =
        address->size() >= 2 && address->compare(address->size() - 2, 2, ":0") == 0;
    if (*address == c.gateway.listen && !any_port) {  // port 0: each gets a free port of its own
      return config_error(source, "gateway.admin_listen must differ from gateway.listen");
    }
    c.gateway.admin_listen = *address;
  }
  c.gateway.io_threads = static_cast<int>((*g)["io_threads"].value_or<std::int64_t>(1));
  if (c.gateway.io_threads < 1 || c.gateway.io_threads > 64) {
    return config_error(source, "gateway.io_threads: 1..64");
  }
  if (auto secret = (*g)["token_secret"].value<std::string>()) {
    c.gateway.key = {gateway::TokenKey::Kind::kHs256, *secret};
  } else if (auto file = (*g)["token_public_key_file"].value<std::string>()) {
    const auto pem = read_file(*file);
    if (!pem) return config_error(source, "gateway.token_public_key_file cannot be read: " + *file);
    const std::string alg = (*g)["token_algorithm"].value_or(std::string("RS256"));
    if (alg != "RS256" && alg != "ES256") {
      return config_error(source,
                          "gateway.token_algorithm must be RS256 or ES256, not '" + alg + "'");
    }
    c.gateway.key = {
        alg == "RS256" ? gateway::TokenKey::Kind::kRs256 : gateway::TokenKey::Kind::kEs256, *pem};
  } else {
    return config_error(source, "gateway needs token_secret or token_public_key_file");
  }
  if (c.gateway.key.kind == gateway::TokenKey::Kind::kHs256 && c.gateway.key.material.size() < 8) {
    return config_error(source, "gateway.token_secret must be at least 8 characters");
  }
  c.gateway.key.issuer = (*g)["token_issuer"].value_or(std::string());
  c.gateway.key.audience = (*g)["token_audience"].value_or(std::string());
  // The PEM is parsed here, once: a bad key stops the node instead of refusing every player.
  auto prepared = gateway::prepare_token_key(std::move(c.gateway.key));
  if (!prepared) {
    return config_error(source, "gateway.token_public_key_file: " + prepared.error().message);
  }
  c.gateway.key = std::move(prepared).value();
  auto& l = c.gateway.limits;
  l.actions_per_s = (*g)["actions_per_s"].value_or(60.0);
  l.action_burst = (*g)["action_burst"].value_or(120.0);
  l.bytes_per_s = (*g)["bytes_per_s"].value_or(65536.0);
  l.byte_burst = (*g)["byte_burst"].value_or(262144.0);
  l.max_violations = static_cast<int>((*g)["max_violations"].value_or<std::int64_t>(20));
  l.protocol.max_frame_bytes =
      static_cast<std::size_t>((*g)["max_frame_bytes"].value_or<std::int64_t>(16384));
  if ((*g)["max_send_queue"]) {
    // The old limit counted frames, which cut clients that read but got a burst of replies (a
    // resume's duplicate rejects): refused, not silently ignored.
    return config_error(source,
                        "gateway.max_send_queue is gone: a slow consumer is judged by "
                        "max_unread_ms and max_unread_bytes (docs/node.md)");
  }
  const std::int64_t unread_ms = (*g)["max_unread_ms"].value_or<std::int64_t>(5000);
  const std::int64_t unread_bytes = (*g)["max_unread_bytes"].value_or<std::int64_t>(4 << 20);
  if (l.actions_per_s <= 0 || l.bytes_per_s <= 0 || l.max_violations < 1 ||
      l.protocol.max_frame_bytes < 256 || unread_ms < 100 ||
      unread_bytes < static_cast<std::int64_t>(l.protocol.max_frame_bytes)) {
    return config_error(source,
                        "gateway limits must be positive (max_frame_bytes >= 256, "
                        "max_unread_ms >= 100, max_unread_bytes >= max_frame_bytes)");
  }
  // HTTP bodies (PUT /admin/rules, /admin/events), read before the token is checked: 256 KiB
  // holds a catalog of about a hundred events; raise it (or use admin_listen) for more.
  const std::int64_t http_body = (*g)["max_http_body"].value_or<std::int64_t>(256 << 10);
  if (http_body < 1024 || http_body > (16 << 20)) {
    return config_error(source, "gateway.max_http_body: 1024..16777216 bytes");
  }
  c.gateway.max_http_body = static_cast<std::size_t>(http_body);
  c.gateway.max_unread_ms = static_cast<std::uint64_t>(unread_ms);
  c.gateway.max_unread_bytes = static_cast<std::size_t>(unread_bytes);
  c.gateway.region_name = c.region_name;
  c.gateway.tick_hz = c.tick_hz;
  // [anticheat] (docs/anticheat.md): the detector's switch, when it flags, and its calibration.
  if (const toml::table* a = root["anticheat"].as_table()) {
    region::anticheat::AnticheatConfig& ac = c.anticheat;
    ac.enabled = (*a)["enabled"].value_or(true);
    if (const auto on = (*a)["detector_thread"].value<bool>()) c.detector_thread = *on;
    const toml::node* nice_node = a->get("detector_nice");
    const std::int64_t nice = nice_node ? nice_node->value<std::int64_t>().value_or(-1) : 0;
    if (nice < 0 || nice > 19) return config_error(source, "anticheat.detector_nice: 0..19");
    c.detector_nice = static_cast<int>(nice);
    ac.flag_at = (*a)["flag_at"].value_or(ac.flag_at);
    const double reflag_s = (*a)["reflag_seconds"].value_or(60.0);
    ac.calibration_a = (*a)["calibration_a"].value_or(ac.calibration_a);
    ac.calibration_b = (*a)["calibration_b"].value_or(ac.calibration_b);
    if (!(ac.flag_at > 0 && ac.flag_at < 1) || !(reflag_s >= 0 && reflag_s <= 86'400) ||
        !std::isfinite(ac.calibration_a) || !(ac.calibration_a > 0) ||
        !std::isfinite(ac.calibration_b)) {
      return config_error(source,
                          "anticheat.flag_at in (0, 1), anticheat.reflag_seconds 0..86400, "
                          "anticheat.calibration_a > 0 and calibration_b finite");
    }
    ac.reflag_ticks = static_cast<std::uint64_t>(reflag_s * c.tick_hz);
    const std::string response = (*a)["response"].value_or(std::string("log"));
    const auto r = flag_response_from(response);
    if (!r) {
      return config_error(source,
                          "anticheat.response must be log, alert, throttle or kick (never "
                          "a ban: a flag is for a human to review), not '" +
                              response + "'");
    }
    c.flag_response = *r;
    c.throttle_actions_per_s = (*a)["throttle_actions_per_s"].value_or(c.throttle_actions_per_s);
    c.throttle_seconds = (*a)["throttle_seconds"].value_or(c.throttle_seconds);
    if (!(c.throttle_actions_per_s > 0 && c.throttle_actions_per_s <= 1000) ||
        !(c.throttle_seconds > 0 && c.throttle_seconds <= 86'400)) {
      return config_error(source,
                          "anticheat.throttle_actions_per_s in (0, 1000] and "
                          "anticheat.throttle_seconds in (0, 86400]");
    }
    const std::int64_t min_reviewed = (*a)["recalibrate_min_reviewed"].value_or<std::int64_t>(20);
    if (min_reviewed < 2 || min_reviewed > 1'000'000) {
      return config_error(source, "anticheat.recalibrate_min_reviewed: 2..1000000");
    }
    c.recalibrate_min_reviewed = static_cast<std::size_t>(min_reviewed);
  }
  // [director] (docs/world-events.md): on by default with no events; `events` names a file, a
  // relative path taken from the config file's directory.
  if (const toml::table* d = root["director"].as_table()) {
    c.director = (*d)["enabled"].value_or(true);
    const std::int64_t grid = (*d)["forecast_grid"].value_or<std::int64_t>(4);
    if (grid < 1 || grid > 16) return config_error(source, "director.forecast_grid: 1..16");
    c.forecast_grid = static_cast<int>(grid);
    if (const toml::node* n = d->get("proactive"); n && !n->is_boolean()) {
      return config_error(source, "director.proactive: true or false");
    }
    c.proactive = (*d)["proactive"].value_or(true);
    if (const auto events = (*d)["events"].value<std::string>()) {
      std::filesystem::path file(*events);
      if (file.is_relative() && std::filesystem::is_regular_file(source)) {
        file = std::filesystem::path(source).parent_path() / file;
      }
      const auto text = read_file(file.string());
      if (!text) {
        return config_error(source, "director.events: cannot open '" + file.string() + "'");
      }
      auto catalog = region::director::parse_event_catalog(*text, file.string());
      if (!catalog) return catalog.error();
      c.events = std::move(catalog).value();
    }
  }
  // [dashboard] (docs/dashboard.md): on by default where an admin listener keeps it from players.
  c.dashboard.enabled = !c.gateway.admin_listen.empty();
  if (const toml::table* d = root["dashboard"].as_table()) {
    if (const toml::node* n = d->get("enabled"); n && !n->is_boolean()) {
      return config_error(source, "dashboard.enabled: true or false");
    }
    c.dashboard.enabled = (*d)["enabled"].value_or(c.dashboard.enabled);
    const std::int64_t interval = (*d)["interval_ms"].value_or<std::int64_t>(500);
    if (interval < 100 || interval > 10'000) {
      return config_error(source, "dashboard.interval_ms: 100..10000");
    }
    c.dashboard.interval_ms = static_cast<std::uint64_t>(interval);
    const std::int64_t points = (*d)["max_points"].value_or<std::int64_t>(20'000);
    if (points < 1 || points > 1'000'000) {
      return config_error(source, "dashboard.max_points: 1..1000000");
    }
    c.dashboard.max_points = static_cast<std::size_t>(points);
  }
  return c;
}

crdt::Result<RegionNodeConfig> load_region_node_config(const std::string& path) {
  const auto text = read_file(path);
  if (!text) return config_error(path, "cannot open the file");
  return parse_region_node_config(*text, path);
}

}  // namespace worldline::app
