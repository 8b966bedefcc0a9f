// worldline: one executable, subcommands wired here (DESIGN.md, "Components").
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <fstream>
#include <iostream>
#include <iterator>
#include <utility>

#include "app/crdt_walkthrough.h"
#include "app/demo.h"
#include "app/events_cli.h"
#include "app/flags_cli.h"
#include "app/region_node.h"
#include "gateway/token.h"
#include "loadgen/loadgen.h"
#include "replica/node_config.h"
#include "replica/rpc_node.h"

#if WORLDLINE_MIMALLOC
#include <mimalloc.h>
#endif

int main(int argc, char** argv) {
  CLI::App app{
      "worldline — event processing and replicated state for massively multiplayer games.\n"
      "Region nodes take player actions over WebSockets, process them at a fixed tick, keep the\n"
      "world as delta-state CRDTs, gossip deltas to other regions and persist to LMDB."};
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->capture_default_str();

  auto* version = app.add_subcommand("version", "print the version and exit");
  auto* demo = app.add_subcommand(
      "demo",
      "run the demo: three region nodes on loopback and simulated players over WebSockets, "
      "one progress line per second, a final report and a convergence check");
  worldline::app::DemoOptions demo_options;
  bool demo_walkthrough = false;
  demo->add_option("--players", demo_options.players, "simulated players")->capture_default_str();
  demo->add_option("--seconds", demo_options.seconds, "how long they play")->capture_default_str();
  demo->add_option("--rate", demo_options.actions_per_player_s, "actions per player per second")
      ->capture_default_str();
  demo->add_option("--scenario", demo_options.scenario,
                   "mixed, wander, hotspot, pvp, item_rush, region_hop")
      ->capture_default_str();
  demo->add_option("--protocol", demo_options.protocol,
                   "the players' wire form: json or capnp (docs/protocol.md)")
      ->check(CLI::IsMember({"json", "capnp"}))
      ->capture_default_str();
  demo->add_option("--cheaters", demo_options.cheaters,
                   "labelled cheaters among the players (kind=count,...: speed10, speed50, "
                   "teleport, clock5, rapid_fire, regular_bot; empty: none)")
      ->capture_default_str();
  demo->add_flag("--walkthrough", demo_walkthrough,
                 "first print the CRDT walkthrough (three in-process regions, step by step)");

  auto* loadgen = app.add_subcommand(
      "loadgen",
      "simulated players over real WebSockets against running nodes; reports actions/s, "
      "action -> ack latency, state frames per client, errors");
  worldline::loadgen::Options lg;
  std::string lg_secret;
  loadgen->add_option("--target", lg.targets, "host:port of a node's gateway (repeat for more)")
      ->required();
  loadgen->add_option("--players", lg.players, "players")->capture_default_str();
  loadgen->add_option("--first-player", lg.first_player, "first player id")->capture_default_str();
  loadgen->add_option("--rate", lg.actions_per_player_s, "actions per player per second")
      ->capture_default_str();
  loadgen->add_option("--seconds", lg.seconds, "measured seconds (after everyone connected)")
      ->capture_default_str();
  loadgen
      ->add_option("--scenario", lg.scenario, "wander, hotspot, pvp, item_rush, region_hop, mixed")
      ->capture_default_str();
  loadgen->add_option("--secret", lg_secret, "the nodes' token_secret (HS256)")->required();
  loadgen->add_option("--connects-per-second", lg.connects_per_s, "ramp-up")->capture_default_str();
  loadgen->add_flag("--failover", lg.failover,
                    "a player whose connection is lost resumes in the next target and the time "
                    "until it acts again is reported");
  loadgen->add_option("--threads", lg.threads, "I/O threads of the load generator")
      ->capture_default_str();
  loadgen
      ->add_option("--max-speed", lg.max_speed_per_tick,
                   "the nodes' region.max_speed_per_tick (the players predict their moves)")
      ->capture_default_str();
  loadgen->add_option("--attack-range", lg.attack_range, "the nodes' region.attack_range")
      ->capture_default_str();
  loadgen->add_option("--tick-ms", lg.tick_ms, "the nodes' tick period (1000 / region.tick_hz)")
      ->capture_default_str();
  std::string lg_cheaters, lg_hard;
  loadgen->add_option("--cheaters", lg_cheaters,
                      "labelled cheaters, the run's first players: kind=count,... with kinds "
                      "speed10, speed50, teleport, clock5, rapid_fire, regular_bot "
                      "(docs/anticheat.md)");
  loadgen->add_option("--hard", lg_hard,
                      "hard honest players after the cheaters: kind=count,... with kinds "
                      "lag_spikes, skilled");
  std::string lg_protocol = "json";
  loadgen
      ->add_option("--protocol", lg_protocol,
                   "the players' wire form: json (worldline.json text frames) or capnp "
                   "(worldline.capnp binary frames)")
      ->check(CLI::IsMember({"json", "capnp"}))
      ->capture_default_str();

  auto* replica = app.add_subcommand(
      "replica",
      "run one replica (LMDB journal + delta gossip over Cap'n Proto RPC) from a TOML config; "
      "see docs/replica.md");
  std::string config_path;
  worldline::replica::RunOptions run;
  bool inspect = false;
  replica->add_option("--config", config_path, "TOML file with a [replica] table")->required();
  replica->add_flag("--inspect", inspect,
                    "print the recovered state of the config's data_dir and exit (node stopped)");
  replica->add_option("--write-rate", run.load.rate_per_s,
                      "built-in write load: ids added per second to entity 1/guild_members");
  replica->add_option("--write-count", run.load.count, "stop the write load after this many");
  replica->add_option("--write-log", run.load.log_path,
                      "append 'ack <id>' here once each generated write is durable");
  replica->add_option("--incarnation", run.load.incarnation,
                      "distinguishes generated ids across restarts of one replica");
  replica
      ->add_option("--status-interval-ms", run.status_interval_ms,
                   "print a status line this often (0: never)")
      ->capture_default_str();
  replica->add_option("--stop-after-ms", run.stop_after_ms, "stop by itself after this long");

  auto* node = app.add_subcommand(
      "node",
      "run one region node — WebSocket gateway + region pipeline + replica — from a TOML config "
      "with [replica], [region] and [gateway] tables; see docs/node.md");
  std::string node_config_path;
  worldline::app::RegionNodeRun node_run;
  node->add_option("--config", node_config_path, "the node's TOML file")->required();
  node->add_option("--status-interval-ms", node_run.status_interval_ms,
                   "print a status line this often (0: never)")
      ->capture_default_str();

  auto* token = app.add_subcommand(
      "token", "mint a signed access token (JWT) for a player or an admin, for tests and demos");
  std::uint64_t token_player = 0;
  std::string token_role = "player", token_secret, token_rsa_key_file;
  std::int64_t token_ttl = 3600;
  token->add_option("--player", token_player, "player id (the sub claim)")->required();
  token->add_option("--role", token_role, "player or admin")->capture_default_str();
  token->add_option("--ttl", token_ttl, "seconds until it expires")->capture_default_str();
  token->add_option("--secret", token_secret, "HS256 shared secret");
  token->add_option("--rsa-key", token_rsa_key_file, "RS256: PEM private key file");
  std::string token_ec_key_file, token_issuer, token_audience;
  token->add_option("--issuer", token_issuer, "the iss claim (a node with token_issuer needs it)");
  token->add_option("--audience", token_audience,
                    "the aud claim (a node with token_audience needs it)");
  token->add_option("--ec-key", token_ec_key_file, "ES256: PEM private key file (P-256)");

  auto* flags = app.add_subcommand(
      "flags",
      "review anticheat flags on a node's admin routes: list, show one with its evidence, give a "
      "verdict, recalibrate from the verdicts (docs/anticheat.md, \"Review workflow\")");
  flags->require_subcommand(1);
  worldline::app::FlagsCommand fc;
  auto common = [&](CLI::App* c) {
    c->add_option("--target", fc.target,
                  "host:port of the node's admin HTTP (admin_listen, or "
                  "its gateway port)")
        ->required();
    c->add_option("--token", fc.token, "a token with role admin (worldline token --role admin)")
        ->required();
    c->add_flag("--json", fc.json, "print the node's JSON reply as it came");
  };
  auto* flags_list = flags->add_subcommand("list", "flags in the world, highest confidence first");
  common(flags_list);
  flags_list->add_option("--region", fc.region, "only flags raised by this region (replica id)");
  flags_list->add_option("--check", fc.check,
                         "only flags in which this check fired (speed, teleport, rapid_fire, "
                         "reach, clock, bot_timing)");
  flags_list->add_option("--min-confidence", fc.min_confidence, "only flags at least this sure");
  flags_list->add_option("--player", fc.player, "only this player's flags");
  flags_list->add_option("--limit", fc.limit, "at most this many (the node's default: 100)");
  auto* flags_show =
      flags->add_subcommand("show", "one flag: every check's value and its evidence timeline");
  common(flags_show);
  flags_show->add_option("id", fc.id, "the flag's id")->required();
  auto* flags_verdict = flags->add_subcommand(
      "verdict", "keep a reviewer's verdict on a flag (journaled and replicated; the last wins)");
  common(flags_verdict);
  flags_verdict->add_option("id", fc.id, "the flag's id")->required();
  flags_verdict->add_option("verdict", fc.verdict, "confirmed or dismissed")
      ->required()
      ->check(CLI::IsMember({"confirmed", "dismissed"}));
  flags_verdict->add_option("--note", fc.note, "why (at most 1 KiB)");
  auto* flags_recalibrate = flags->add_subcommand(
      "recalibrate", "refit the node's calibration (Platt a, b) on the reviewed flags");
  common(flags_recalibrate);

  auto* events = app.add_subcommand(
      "events",
      "world-event definitions on a node's admin routes: list the deployed ones, show the running "
      "instances, deploy a file, remove one (docs/world-events.md, \"Content API\")");
  events->require_subcommand(1);
  worldline::app::EventsCommand ec;
  auto events_common = [&](CLI::App* c) {
    c->add_option("--target", ec.target,
                  "host:port of the node's admin HTTP (admin_listen, or its gateway port)")
        ->required();
    c->add_option("--token", ec.token, "a token with role admin (worldline token --role admin)")
        ->required();
  };
  auto* events_list =
      events->add_subcommand("list", "the deployed definitions, as TOML that `put` takes back");
  events_common(events_list);
  auto* events_running = events->add_subcommand(
      "running", "running instances (tier, NPCs, objective) and every definition's slot");
  events_common(events_running);
  events_running->add_flag("--json", ec.json, "print the node's JSON reply as it came");
  auto* events_put = events->add_subcommand(
      "put",
      "deploy a definitions file (checked here first): it replaces every definition; "
      "running instances keep theirs");
  events_common(events_put);
  events_put->add_option("file", ec.file, "the definitions (TOML)")->required();
  auto* events_rm = events->add_subcommand(
      "rm", "remove one definition (refused while another event's trigger names it)");
  events_common(events_rm);
  events_rm->add_option("id", ec.id, "the event's id")->required();

  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::from_str(log_level));

  if (version->parsed()) {
    std::cout << "worldline " << WORLDLINE_VERSION << "\n";
#if WORLDLINE_MIMALLOC
    std::cout << "allocator: mimalloc " << mi_version() << "\n";
#else
    std::cout << "allocator: the C library's malloc\n";
#endif
    return 0;
  }
  if (token->parsed()) {
    worldline::gateway::TokenKey key;
    if (!token_rsa_key_file.empty() || !token_ec_key_file.empty()) {
      const bool rsa = !token_rsa_key_file.empty();
      const std::string& file = rsa ? token_rsa_key_file : token_ec_key_file;
      std::ifstream in(file);
      if (!in) {
        spdlog::error("cannot read {}", file);
        return 2;
      }
      key.kind = rsa ? worldline::gateway::TokenKey::Kind::kRs256
                     : worldline::gateway::TokenKey::Kind::kEs256;
      key.material.assign(std::istreambuf_iterator<char>(in), {});
    } else if (token_secret.size() >= 8) {
      key.material = token_secret;
    } else {
      spdlog::error("give --secret (at least 8 characters), --rsa-key or --ec-key");
      return 2;
    }
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    auto t = worldline::gateway::mint_token(
        {token_player, token_role, now + token_ttl, now, token_issuer, token_audience}, key);
    if (!t) {
      spdlog::error("{}", t.error().message);
      return 2;
    }
    std::cout << t.value() << "\n";
    return 0;
  }
  if (events->parsed()) {
    for (auto* c : {events_list, events_running, events_put, events_rm})
      if (c->parsed()) ec.command = c->get_name();
    return worldline::app::run_events_command(ec, std::cout, std::cerr);
  }
  if (flags->parsed()) {
    for (auto* c : {flags_list, flags_show, flags_verdict, flags_recalibrate})
      if (c->parsed()) fc.command = c->get_name();
    return worldline::app::run_flags_command(fc, std::cout, std::cerr);
  }
  if (node->parsed()) {
    auto config = worldline::app::load_region_node_config(node_config_path);
    if (!config) {
      spdlog::error("{}", config.error().message);
      return 2;
    }
    return worldline::app::run_region_node(config.value(), node_run);
  }
  if (replica->parsed()) {
    auto config = worldline::replica::load_node_config(config_path);
    if (!config) {
      spdlog::error("{}", config.error().message);
      return 2;
    }
    const auto registry = worldline::replica::ComponentRegistry::game_defaults();
    if (inspect) return worldline::replica::inspect_data_dir(config.value().data_dir, registry);
    if (run.load.rate_per_s > 0 && run.load.count == 0) run.load.count = UINT64_MAX;
    worldline::replica::ReplicaNode node(std::move(config).value(), registry);
    return node.run(run);
  }
  if (loadgen->parsed()) {
    if (!worldline::loadgen::valid_scenario(lg.scenario)) {
      spdlog::error("unknown scenario '{}'", lg.scenario);
      return 2;
    }
    for (const auto& [text, cheats] : {std::pair{lg_cheaters, true}, std::pair{lg_hard, false}}) {
      auto groups = worldline::loadgen::parse_population(text, cheats);
      if (!groups) {
        spdlog::error("{}: {}", cheats ? "--cheaters" : "--hard", groups.error().message);
        return 2;
      }
      for (const auto& g : groups.value())
        lg.population.push_back(g);
    }
    std::uint64_t labelled = 0;
    for (const auto& g : lg.population)
      labelled += g.count;
    if (labelled > lg.players) {
      spdlog::error("--cheaters and --hard label {} players, more than --players {}", labelled,
                    lg.players);
      return 2;
    }
    if (!lg.population.empty()) {
      std::cout << "loadgen: labelled players\n"
                << worldline::loadgen::labels(lg.population, lg.first_player);
    }
    lg.key = {worldline::gateway::TokenKey::Kind::kHs256, lg_secret};
    lg.format = lg_protocol == "capnp" ? worldline::gateway::WireFormat::kCapnp
                                       : worldline::gateway::WireFormat::kJson;
    const auto report = worldline::loadgen::run(lg, std::cout);
    std::cout << report.summary() << "\n";
    return report.connected == 0 ? 1 : 0;
  }
  if (demo->parsed()) {
    if (!worldline::loadgen::valid_scenario(demo_options.scenario)) {
      spdlog::error("unknown scenario '{}'", demo_options.scenario);
      return 2;
    }
    try {
      if (demo_walkthrough) {
        const int walkthrough = worldline::app::run_crdt_walkthrough(std::cout);
        if (walkthrough != 0) return walkthrough;
      }
      spdlog::set_level(spdlog::level::warn);  // the progress lines tell the story
      return worldline::app::run_demo(std::cout, demo_options);
    } catch (const std::exception& e) {
      spdlog::error("demo failed: {}", e.what());
      return 1;
    }
  }
  return 0;
}
