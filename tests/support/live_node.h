// LiveNode: a real region node (`run_region_node`, app/region_node.h) on a thread of the test
// process, from a TOML text, with its gateway on an ephemeral port: for tests that talk to a node
// over real HTTP and WebSockets. Stops (and joins) at destruction.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <utility>

#include "app/region_node.h"

namespace worldline::testing {

class LiveNode {
 public:
  explicit LiveNode(const std::string& toml) {
    auto parsed = app::parse_region_node_config(toml, "live_node");
    EXPECT_TRUE(parsed.ok()) << parsed.error().message;
    if (!parsed.ok()) return;
    config_ = std::move(parsed).value();
    run_.status_interval_ms = 0;
    run_.stop = &stop_;
    run_.on_listening = [this](std::uint16_t port) { port_.set_value(port); };
    thread_ = std::thread([this] { (void)app::run_region_node(config_, run_); });
    auto port = port_.get_future();
    if (port.wait_for(std::chrono::seconds(30)) == std::future_status::ready) {
      target = "127.0.0.1:" + std::to_string(port.get());
    }
  }
  ~LiveNode() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  LiveNode(const LiveNode&) = delete;
  LiveNode& operator=(const LiveNode&) = delete;

  std::string target;  // "127.0.0.1:<gateway port>"; empty: it did not start

 private:
  app::RegionNodeConfig config_;
  app::RegionNodeRun run_;
  std::atomic<bool> stop_{false};
  std::promise<std::uint16_t> port_;
  std::thread thread_;
};

}  // namespace worldline::testing
