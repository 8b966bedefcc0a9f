// worldline: one executable, subcommands wired here (DESIGN.md, "Components").
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "app/crdt_walkthrough.h"

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
      "run the demo: today a CRDT replication walkthrough across three in-process regions "
      "(the full three-node demo arrives with the gateway)");

  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::from_str(log_level));

  if (version->parsed()) {
    std::cout << "worldline " << WORLDLINE_VERSION << "\n";
    return 0;
  }
  if (demo->parsed()) {
    spdlog::info("demo: CRDT replication walkthrough");
    try {
      return worldline::app::run_crdt_walkthrough(std::cout);
    } catch (const std::exception& e) {
      spdlog::error("demo failed: {}", e.what());
      return 1;
    }
  }
  return 0;
}
