// The world-event content API over real HTTP against a real node (run_region_node in-process:
// gateway, region with its director, replica with LMDB): the catalog from [director] events is
// served back as TOML that parses to the same catalog; PUT refuses a bad catalog with the field
// and the reason and deploys a good one; DELETE refuses to orphan an `after` trigger; a scheduled
// event starts and is listed running with its levers; only admins get in; `worldline events`
// checks a file before it sends it. And [director]'s config errors.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <sstream>
#include <thread>

#include <boost/json.hpp>

#include "app/admin_http.h"
#include "app/event_routes.h"
#include "app/events_cli.h"
#include "app/region_node.h"
#include "gateway/token.h"
#include "region/director/event_definition.h"
#include "tests/support/live_node.h"
#include "tests/support/unix_time.h"

namespace worldline::app {
namespace {

namespace director = region::director;

const char* const kSecret = "world events test secret";

using testing::unix_s;

std::string token(std::uint64_t player, const std::string& role) {
  return gateway::mint_token({player, role, unix_s() + 600, unix_s()},
                             {gateway::TokenKey::Kind::kHs256, kSecret})
      .value();
}

// A market every second for 3 s; 3 NPCs plus one per participant, at most 30.
const char* const kMarket = R"([[event]]
id = "market"
trigger = { kind = "schedule", every_s = 1, offset_s = 0 }
area = { x = 0, z = 0, radius = 100 }
rewards = { gold = 50 }

[[event.tiers]]
npc_count = { base = 3, per_player = 1, floor = 3, cap = 30 }
objective = { base = 3, floor = 3, cap = 30 }
duration_s = { base = 3, floor = 3, cap = 3 }
)";

// Follows the market when it completes.
const char* const kParade = R"(
[[event]]
id = "parade"
trigger = { kind = "after", event = "market" }
area = { x = 10, z = 10, radius = 50 }

[[event.tiers]]
npc_count = { base = 5, floor = 5, cap = 5 }
objective = { base = 5, floor = 5, cap = 5 }
duration_s = { base = 60, floor = 60, cap = 60 }
)";

director::EventCatalog parse(const std::string& text) {
  auto c = director::parse_event_catalog(text, "test");
  EXPECT_TRUE(c.ok()) << c.error().message;
  return c.ok() ? c.value() : director::EventCatalog{};
}

void write(const std::filesystem::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

// A region node run by run_region_node in a thread, from a config's text, until destroyed.
using testing::LiveNode;

class WorldEventsNode : public ::testing::Test {
 protected:
  // The [director] section of the node's config, after its `events` line.
  virtual std::string director_extra() const { return ""; }

  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("worldline_events_test_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    write(dir_ / "events.toml", kMarket);
    const std::string toml = "[replica]\nid = 1\nlisten = \"127.0.0.1:0\"\ndata_dir = \"" +
                             (dir_ / "data").string() +
                             "\"\nsecret = \"world events cluster secret\"\n"
                             "[region]\nname = \"r1\"\ntick_hz = 20\nworkers = 1\n"
                             "[gateway]\nlisten = \"127.0.0.1:0\"\ntoken_secret = \"" +
                             kSecret + "\"\n[director]\nevents = \"" +
                             (dir_ / "events.toml").string() + "\"\n" + director_extra();
    node_ = std::make_unique<LiveNode>(toml);
    target_ = node_->target;
    ASSERT_FALSE(target_.empty()) << "the node did not start";
  }
  void TearDown() override {
    node_.reset();
    std::filesystem::remove_all(dir_);
  }

  HttpResult call(const std::string& method, const std::string& path,
                  const std::string& body = {}) {
    return http_call(target_, method, path, admin_, body, std::chrono::seconds(10),
                     "application/toml");
  }

  std::filesystem::path dir_;
  std::unique_ptr<LiveNode> node_;
  std::string target_;
  const std::string admin_ = token(1, "admin");
};

TEST_F(WorldEventsNode, TheCatalogFromTheConfigIsServedAsTomlThatParsesBackToIt) {
  const HttpResult r = call("GET", "/admin/events");
  ASSERT_EQ(r.status, 200) << r.error << r.body;
  EXPECT_EQ(parse(r.body), parse(kMarket));
}

TEST_F(WorldEventsNode, PutRefusesABadCatalogWithItsFieldAndDeploysAGoodOne) {
  HttpResult r = call("PUT", "/admin/events", "[[event]]\nid = \"x\"\n");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "PUT /admin/events: event[0].trigger: missing\n");
  EXPECT_EQ(parse(call("GET", "/admin/events").body), parse(kMarket));  // unchanged

  r = call("PUT", "/admin/events", std::string(kMarket) + kParade);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body.rfind("deployed 2 events (market, parade)", 0), 0u) << r.body;
  EXPECT_EQ(parse(call("GET", "/admin/events").body), parse(std::string(kMarket) + kParade));
}

TEST_F(WorldEventsNode, DeleteRefusesToOrphanAnAfterTriggerAndRemovesWhatNothingNames) {
  ASSERT_EQ(call("PUT", "/admin/events", std::string(kMarket) + kParade).status, 200);
  HttpResult r = call("DELETE", "/admin/events/market");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.body,
            "DELETE /admin/events/market: event[0].trigger.event: unknown event 'market' (remove "
            "or change that event first)\n");
  r = call("DELETE", "/admin/events/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "no event 'nope' is deployed (GET /admin/events lists them)\n");
  r = call("DELETE", "/admin/events/parade");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(parse(call("GET", "/admin/events").body), parse(kMarket));
  r = call("DELETE", "/admin/events/market");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(parse(call("GET", "/admin/events").body).events.empty());
  // The metrics say so as well (they are refreshed every 250 ms).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::string metrics;
  while (std::chrono::steady_clock::now() < deadline) {
    metrics = http_call(target_, "GET", "/metrics").body;
    if (metrics.find("worldline_events_deployed{region=\"r1\"} 0\n") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(metrics.find("worldline_events_deployed{region=\"r1\"} 0\n"), std::string::npos)
      << metrics;
}

TEST_F(WorldEventsNode, AnyIdMayBeDeletedAndOnlyAnIdIsEchoed) {
  HttpResult r = call("DELETE", "/admin/events/running");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "no event 'running' is deployed (GET /admin/events lists them)\n");
  r = call("DELETE", "/admin/events/%1b%5b2J");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "no event with that id is deployed (GET /admin/events lists them)\n");
  r = call("DELETE", "/admin/events/");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.body, "DELETE /admin/events/{id}\n");
  r = call("POST", "/admin/events/running");
  EXPECT_EQ(r.status, 405);
}

class DirectorOffNode : public WorldEventsNode {
 protected:
  std::string director_extra() const override { return "enabled = false\n"; }
};

TEST_F(DirectorOffNode, TheRoutesSaySo) {
  for (const auto& [method, path] : {std::pair{"GET", "/admin/events"},
                                     {"GET", "/admin/events/running"},
                                     {"DELETE", "/admin/events/market"}}) {
    const HttpResult r = call(method, path);
    EXPECT_EQ(r.status, 404) << method << " " << path;
    EXPECT_EQ(r.body,
              "the world-event director is off on this node ([director] enabled = false)\n");
  }
  const std::string metrics = http_call(target_, "GET", "/metrics").body;
  EXPECT_EQ(metrics.find("worldline_events_"), std::string::npos);
}

TEST_F(WorldEventsNode, AScheduledEventStartsAndIsListedRunningWithItsLevers) {
  // Every second a market; with nobody in its area, tier 0 at its floors: 3 NPCs, objective 3.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  std::string body;
  while (std::chrono::steady_clock::now() < deadline) {
    const HttpResult r = call("GET", "/admin/events/running");
    ASSERT_EQ(r.status, 200) << r.error << r.body;
    body = r.body;
    if (body.find("\"event\":\"market\",\"phase\":\"active\"") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_NE(body.find("\"event\":\"market\",\"phase\":\"active\""), std::string::npos) << body;
  EXPECT_NE(body.find("\"npcs_requested\":3,\"levers\":{\"npc_count\":3,"), std::string::npos)
      << body;
  EXPECT_NE(body.find("\"objective\":3,"), std::string::npos) << body;
  // The metrics carry the director's families (refreshed every 250 ms, so within a second).
  std::string metrics;
  for (int i = 0; i < 50; ++i) {
    metrics = http_call(target_, "GET", "/metrics").body;
    if (metrics.find("worldline_events_started_total{region=\"r1\"} 0\n") == std::string::npos &&
        metrics.find("worldline_events_started_total") != std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(metrics.find("worldline_events_deployed{region=\"r1\"} 1\n"), std::string::npos)
      << metrics;
  EXPECT_EQ(metrics.find("worldline_events_started_total{region=\"r1\"} 0\n"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("worldline_density_entities{region=\"r1\",area=\"3,3\"} "),
            std::string::npos)
      << metrics;  // the 4 × 4 grid's last square
  EXPECT_NE(
      metrics.find("worldline_forecast_entities{region=\"r1\",area=\"0,0\",horizon_s=\"30\"} "),
      std::string::npos)
      << metrics;
  // A lone region settles its own claims at once: nothing waits for settlement.
  EXPECT_NE(metrics.find("worldline_events_awaiting_settlement{region=\"r1\"} 0\n"),
            std::string::npos)
      << metrics;
  // Nobody stands in the market's area: every second it ran was unattended, none engaged,
  // crowded or waiting (the experience family appears once an instance has run a step).
  const std::string x = "worldline_event_experience_seconds_total{region=\"r1\",event=\"market\",";
  for (int i = 0; i < 50 && metrics.find(x) == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    metrics = http_call(target_, "GET", "/metrics").body;
  }
  for (const char* lived : {"engaged", "crowded", "waiting"}) {
    EXPECT_NE(metrics.find(x + "experience=\"" + lived + "\"} 0\n"), std::string::npos)
        << lived << "\n"
        << metrics;
  }
  const auto unattended = metrics.find(x + "experience=\"unattended\"} ");
  ASSERT_NE(unattended, std::string::npos) << metrics;
  const std::size_t value = metrics.find("} ", unattended) + 2;
  EXPECT_GT(std::stod(metrics.substr(value, metrics.find('\n', value) - value)), 0) << metrics;
  // The table `worldline events running` prints from it.
  const std::string table = format_running_events(body);
  EXPECT_NE(table.find("market"), std::string::npos) << table;
  EXPECT_NE(table.find("1 running;"), std::string::npos) << table;
}

TEST_F(WorldEventsNode, OnlyAdminsGetIn) {
  HttpResult r = http_call(target_, "GET", "/admin/events");
  EXPECT_EQ(r.status, 401);
  r = http_call(target_, "PUT", "/admin/events", token(7, "player"),
                std::string(kMarket) + kParade);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body, "role admin required\n");
  r = http_call(target_, "DELETE", "/admin/events/market", token(7, "player"));
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(parse(call("GET", "/admin/events").body), parse(kMarket));
}

TEST_F(WorldEventsNode, TheCommandChecksAFileBeforeItSendsIt) {
  write(dir_ / "bad.toml", "[[event]]\nid = \"x\"\ntrigger = { kind = \"moon\" }\n");
  EventsCommand c{"put", target_, admin_, (dir_ / "bad.toml").string(), "", false};
  std::ostringstream out, err;
  EXPECT_EQ(run_events_command(c, out, err), 1);
  EXPECT_EQ(err.str().rfind((dir_ / "bad.toml").string() + ": event[0].trigger.kind: ", 0), 0u)
      << err.str();
  EXPECT_NE(err.str().find("(nothing sent)"), std::string::npos);
  EXPECT_EQ(parse(call("GET", "/admin/events").body), parse(kMarket));

  write(dir_ / "two.toml", std::string(kMarket) + kParade);
  c.file = (dir_ / "two.toml").string();
  std::ostringstream out2, err2;
  EXPECT_EQ(run_events_command(c, out2, err2), 0) << err2.str();
  EXPECT_EQ(parse(call("GET", "/admin/events").body), parse(std::string(kMarket) + kParade));

  c.command = "rm";
  c.id = "market";
  std::ostringstream out3, err3;
  EXPECT_EQ(run_events_command(c, out3, err3), 1);
  EXPECT_EQ(err3.str().rfind("HTTP 409: ", 0), 0u) << err3.str();
}

// The config of region `id` (1 or 2) of a two-region cluster on fixed replica ports.
std::string cluster_toml(int id, const std::filesystem::path& dir,
                         const std::filesystem::path& events) {
  const int rpc = 7470 + id, peer = id == 1 ? 2 : 1;
  return "[replica]\nid = " + std::to_string(id) + "\nlisten = \"127.0.0.1:" + std::to_string(rpc) +
         "\"\ndata_dir = \"" + (dir / ("data" + std::to_string(id))).string() +
         "\"\nsecret = \"world events cluster secret\"\n[[replica.peers]]\nid = " +
         std::to_string(peer) + "\naddress = \"127.0.0.1:" + std::to_string(7470 + peer) +
         "\"\n[region]\nname = \"r" + std::to_string(id) +
         "\"\ntick_hz = 20\nworkers = 1\n[gateway]\nlisten = \"127.0.0.1:0\"\ntoken_secret = \"" +
         kSecret + "\"\n[director]\nevents = \"" + events.string() + "\"\n";
}

// The running instances a node lists: instance id → spawner (0: no claim seen yet), spawns_here.
std::map<std::string, std::pair<std::uint64_t, bool>> running(const std::string& target) {
  std::map<std::string, std::pair<std::uint64_t, bool>> out;
  const HttpResult r = http_call(target, "GET", "/admin/events/running", token(1, "admin"));
  if (r.status != 200) return out;
  const boost::json::value body = boost::json::parse(r.body);
  for (const auto& v : body.at("running").as_array()) {
    const auto& o = v.as_object();
    const auto& spawner = o.at("spawner");
    out[std::string(o.at("instance").as_string())] = {
        spawner.is_null() ? 0 : spawner.to_number<std::uint64_t>(), o.at("spawns_here").as_bool()};
  }
  return out;
}

// Two regions with the same schedule start the same instance (its id from the scheduled time,
// the same on both) and each claims it; once the claims have met, both name the same spawner,
// and exactly one of them spawns it.
TEST(TwoRegions, ExactlyOneRegionSpawnsAnInstanceBothStart) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("worldline_events_cluster_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  write(dir / "events.toml", kMarket);  // every second, for 3 s
  LiveNode a(cluster_toml(1, dir, dir / "events.toml")),
      b(cluster_toml(2, dir, dir / "events.toml"));
  ASSERT_FALSE(a.target.empty());
  ASSERT_FALSE(b.target.empty());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  std::string agreed;
  std::map<std::string, std::pair<std::uint64_t, bool>> on_a, on_b;
  while (agreed.empty() && std::chrono::steady_clock::now() < deadline) {
    on_a = running(a.target);
    on_b = running(b.target);
    for (const auto& [id, claim] : on_a) {
      const auto other = on_b.find(id);
      if (claim.first != 0 && other != on_b.end() && other->second.first == claim.first) {
        agreed = id;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_FALSE(agreed.empty()) << "no instance both regions list with the same spawner";
  const std::uint64_t spawner = on_a[agreed].first;
  EXPECT_TRUE(spawner == 1 || spawner == 2) << spawner;
  EXPECT_EQ(on_a[agreed].second, spawner == 1);
  EXPECT_EQ(on_b[agreed].second, spawner == 2);
  std::filesystem::remove_all(dir);
}

TEST(DirectorConfig, ErrorsNameTheFieldAndTheFile) {
  const std::string base =
      "[replica]\nid = 1\nlisten = \"127.0.0.1:7461\"\ndata_dir = \"/tmp/x\"\nsecret = \"s3cret "
      "secret\"\n[gateway]\nlisten = \"127.0.0.1:0\"\ntoken_secret = \"12345678\"\n";
  auto r = parse_region_node_config(base + "[director]\nforecast_grid = 0\n", "n.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "n.toml: director.forecast_grid: 1..16");
  r = parse_region_node_config(base + "[director]\nevents = \"/nonexistent/e.toml\"\n", "n.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "n.toml: director.events: cannot open '/nonexistent/e.toml'");
  const auto bad = std::filesystem::temp_directory_path() /
                   ("worldline_bad_events_" + std::to_string(::getpid()) + ".toml");
  write(bad, "[[event]]\nid = \"x\"\n");
  r = parse_region_node_config(base + "[director]\nevents = \"" + bad.string() + "\"\n", "n.toml");
  std::filesystem::remove(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, bad.string() + ": event[0].trigger: missing");
  r = parse_region_node_config(base + "[director]\nenabled = false\nforecast_grid = 8\n", "n.toml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r.value().director);
  EXPECT_EQ(r.value().forecast_grid, 8);
  r = parse_region_node_config(base.substr(0, base.size() - 1) + "\nmax_http_body = 10\n",
                               "n.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "n.toml: gateway.max_http_body: 1024..16777216 bytes");
}

}  // namespace
}  // namespace worldline::app

namespace worldline::app {
namespace {

// The NPC families of /metrics, from the region's NPC counts (EventNpcs::stats()).
TEST(NpcMetrics, EachCountIsASampleOfItsFamily) {
  NpcStats n;
  n.spawned = 7;
  n.defeated = 4;
  n.alive = 3;
  n.actions = 120;
  n.gold_paid = 400;
  n.not_spawned = 9;
  PromText p(PromText::label("region", "r1"));
  npc_metrics(p, n);
  const std::string text = p.str();
  for (const char* line :
       {"worldline_npcs_alive{region=\"r1\"} 3\n",
        "worldline_npcs_spawned_total{region=\"r1\"} 7\n",
        "worldline_npcs_defeated_total{region=\"r1\"} 4\n",
        "worldline_npc_actions_total{region=\"r1\"} 120\n",
        "worldline_event_gold_paid_total{region=\"r1\"} 400\n",
        "worldline_npcs_not_spawned_total{region=\"r1\"} 9\n",
        "# TYPE worldline_npcs_alive gauge\n", "# TYPE worldline_npcs_defeated_total counter\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "not in:\n" << text;
  }
}

}  // namespace
}  // namespace worldline::app
