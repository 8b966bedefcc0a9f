// The live dashboard against a real node (run_region_node in-process: gateway, region with its
// director, replica with LMDB), over real HTTP and WebSockets: a frame lists every player where it
// stands and whether its session is here, the cells tile what stands in them, a world event is
// drawn with its NPCs; the feed streams frames whose tick advances; the page is served as the
// files in web/dashboard/ are; it is off by default without an admin listener, and with
// enabled = false; bad [dashboard] values are refused naming the field. And the interval
// percentiles the frames' figures use.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <thread>
#include <tuple>

#include "app/admin_http.h"
#include "app/dashboard.h"
#include "app/region_node.h"
#include "gateway/token.h"
#include "region/director/npc.h"
#include "tests/support/event_stream_reader.h"
#include "tests/support/live_node.h"
#include "tests/support/unix_time.h"
#include "tests/support/ws_player.h"

namespace worldline::app {
namespace {

namespace json = boost::json;
using testing::EventStreamReader;
using testing::LiveNode;
using testing::WsPlayer;

const char* const kSecret = "dashboard test secret";

using testing::unix_ms;
using testing::unix_s;

std::string player_token(std::uint64_t player) {
  return gateway::mint_token({player, "player", unix_s() + 600, unix_s()},
                             {gateway::TokenKey::Kind::kHs256, kSecret})
      .value();
}

std::string node_toml(const std::filesystem::path& dir, const std::string& extra) {
  return "[replica]\nid = 1\nlisten = \"127.0.0.1:0\"\ndata_dir = \"" + (dir / "data").string() +
         "\"\nsecret = \"dashboard cluster secret\"\n"
         "[region]\nname = \"r1\"\ntick_hz = 20\nworkers = 1\nspawn_radius = 0\n"
         "[gateway]\nlisten = \"127.0.0.1:0\"\ntoken_secret = \"" +
         std::string(kSecret) + "\"\n" + extra;
}

std::uint16_t port_of(const std::string& target) {
  return static_cast<std::uint16_t>(std::stoi(target.substr(target.rfind(':') + 1)));
}

// Polls GET /dashboard/state (bounded: 15 s) until `done` holds for a frame; that frame.
template <typename Done>
json::object wait_for_frame(const std::string& target, Done&& done) {
  json::object frame;
  for (int i = 0; i < 150; ++i) {
    const HttpResult r = http_call(target, "GET", "/dashboard/state");
    if (r.status == 200) {
      frame = json::parse(r.body).as_object();
      if (done(frame)) return frame;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ADD_FAILURE() << "no frame as expected within 15 s; the last: " << json::serialize(frame);
  return frame;
}

std::uint64_t id_of(const json::value& row) {
  return std::stoull(std::string(row.as_array().at(0).as_string()));
}

// player id → (x, z, here, cells it is a ghost in) from a frame's rows.
using Row = std::tuple<double, double, bool, int>;
std::map<std::uint64_t, Row> players_of(const json::object& frame) {
  std::map<std::uint64_t, Row> out;
  for (const json::value& row : frame.at("players").as_array()) {
    const json::array& r = row.as_array();
    out[id_of(row)] = {r[1].to_number<double>(), r[2].to_number<double>(),
                       r[3].to_number<int>() == 1, r[4].to_number<int>()};
  }
  return out;
}

class Dashboard : public ::testing::Test {
 protected:
  void start(const std::string& extra) {
    dir_ = std::filesystem::temp_directory_path() /
           ("worldline_dashboard_test_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    node_ = std::make_unique<LiveNode>(node_toml(dir_, extra));
    target_ = node_->target;
    ASSERT_FALSE(target_.empty()) << "the node did not start";
  }
  void TearDown() override {
    node_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::filesystem::path dir_;
  std::unique_ptr<LiveNode> node_;
  std::string target_;
};

TEST_F(Dashboard, AFrameListsEveryPlayerWhereItStandsAndWhetherItsSessionIsHere) {
  ASSERT_NO_FATAL_FAILURE(start("[director]\nenabled = false\n[dashboard]\nenabled = true\n"));
  const std::uint16_t port = port_of(target_);
  WsPlayer a(port, player_token(11)), b(port, player_token(12));
  auto c = std::make_unique<WsPlayer>(port, player_token(13));
  ASSERT_EQ(a.welcome.at("type").as_string(), "welcome");
  ASSERT_EQ(c->welcome.at("type").as_string(), "welcome");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // a movement budget accrues
  a.move(1, unix_ms());
  json::object frame = wait_for_frame(target_, [](const json::object& f) {
    const auto players = players_of(f);
    return f.at("players_total").to_number<int>() == 3 && players.count(11) &&
           std::get<0>(players.at(11)) == 1;
  });
  // One cell (one worker, a light load): nobody is a ghost anywhere.
  const std::map<std::uint64_t, Row> expected{
      {11, Row{1, 0, true, 0}}, {12, Row{0, 0, true, 0}}, {13, Row{0, 0, true, 0}}};
  EXPECT_EQ(players_of(frame), expected);
  EXPECT_EQ(frame.at("region").as_string(), "r1");
  EXPECT_EQ(frame.at("figures").at("sessions").to_number<int>(), 3);
  EXPECT_EQ(frame.at("npcs_total").to_number<int>(), 0);
  EXPECT_TRUE(frame.at("events").as_array().empty());
  EXPECT_TRUE(frame.at("replication").as_array().empty());  // no peers
  const json::object& world = frame.at("world").as_object();
  EXPECT_EQ(world.at("min_x").to_number<double>(), -10'000);
  EXPECT_EQ(world.at("max_z").to_number<double>(), 10'000);
  // The cells tile what stands in the world: one worker here, every entity in exactly one cell.
  int standing = 0;
  for (const json::value& cell : frame.at("cells").as_array()) {
    EXPECT_EQ(cell.at("worker").to_number<int>(), 0);
    standing += cell.at("entities").to_number<int>();
  }
  EXPECT_EQ(standing, 3);
  // One session closes: its player stays in the world, no longer here.
  c->close();
  c.reset();
  frame = wait_for_frame(target_, [](const json::object& f) {
    return f.at("figures").at("sessions").to_number<int>() == 2;
  });
  const std::map<std::uint64_t, Row> after{
      {11, Row{1, 0, true, 0}}, {12, Row{0, 0, true, 0}}, {13, Row{0, 0, false, 0}}};
  EXPECT_EQ(players_of(frame), after);
  EXPECT_EQ(frame.at("players_total").to_number<int>(), 3);
}

// A density event starts when one player stands in its area; its four NPCs stand in the world.
TEST_F(Dashboard, AWorldEventIsDrawnWithItsNpcs) {
  const std::string events = R"([[event]]
id = "camp"
trigger = { kind = "density", players = 1, for_s = 0 }
area = { x = 0, z = 0, radius = 50 }

[[event.tiers]]
npc_count = { base = 4, floor = 4, cap = 4 }
objective = { base = 4, floor = 4, cap = 4 }
duration_s = { base = 600, floor = 600, cap = 600 }
)";
  std::filesystem::create_directories(std::filesystem::temp_directory_path());
  const auto file = std::filesystem::temp_directory_path() /
                    ("worldline_dashboard_events_" + std::to_string(::getpid()) + ".toml");
  std::ofstream(file) << events;
  ASSERT_NO_FATAL_FAILURE(
      start("[director]\nevents = \"" + file.string() + "\"\n[dashboard]\nenabled = true\n"));
  WsPlayer p(port_of(target_), player_token(21));
  ASSERT_EQ(p.welcome.at("type").as_string(), "welcome");
  const json::object frame = wait_for_frame(target_, [](const json::object& f) {
    return f.at("events").as_array().size() == 1 && f.at("npcs_total").to_number<int>() == 4;
  });
  std::filesystem::remove(file);
  const json::object& event = frame.at("events").as_array().at(0).as_object();
  EXPECT_EQ(event.at("event").as_string(), "camp");
  EXPECT_EQ(event.at("phase").as_string(), "active");
  EXPECT_EQ(event.at("x").to_number<double>(), 0);
  EXPECT_EQ(event.at("radius").to_number<double>(), 50);
  EXPECT_EQ(event.at("npcs_alive").to_number<int>(), 4);
  ASSERT_EQ(frame.at("npcs").as_array().size(), 4u);
  for (const json::value& row : frame.at("npcs").as_array()) {
    const json::array& npc = row.as_array();
    EXPECT_TRUE(region::director::is_npc(id_of(row)));
    EXPECT_GT(npc[3].to_number<std::int64_t>(), 0);       // health
    EXPECT_LE(std::abs(npc[1].to_number<double>()), 50);  // spawned in the event's area
  }
  EXPECT_EQ(frame.at("players_total").to_number<int>(), 1);
}

// The feed: `id:` numbers and the frames' ticks advance; each frame is the JSON /state serves.
// The page's files are served exactly as they are in web/dashboard/.
TEST_F(Dashboard, TheFeedStreamsFramesAndThePageIsServedAsWritten) {
  ASSERT_NO_FATAL_FAILURE(start("[dashboard]\nenabled = true\ninterval_ms = 100\n"));
  EventStreamReader feed(port_of(target_), "/dashboard/feed");
  EXPECT_EQ(feed.head.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << feed.head;
  EXPECT_NE(feed.head.find("Content-Type: text/event-stream"), std::string::npos);
  std::uint64_t last_tick = 0, last_id = 0;
  for (int i = 0; i < 3; ++i) {
    const std::string event = feed.next();
    ASSERT_EQ(event.rfind("id: ", 0), 0u) << event;
    const std::uint64_t id = std::stoull(event.substr(4, event.find('\n') - 4));
    EXPECT_GT(id, last_id);
    last_id = id;
    const std::size_t data = event.find("\ndata: ");
    ASSERT_NE(data, std::string::npos) << event;
    const json::object frame =
        json::parse(event.substr(data + 7, event.size() - data - 9)).as_object();
    const auto tick = frame.at("tick").to_number<std::uint64_t>();
    EXPECT_GT(tick, last_tick);
    last_tick = tick;
    EXPECT_EQ(frame.at("region").as_string(), "r1");
  }
  for (const char* name : {"index.html", "dashboard.js", "dashboard.css"}) {
    std::ifstream in(std::string(WORLDLINE_SOURCE_DIR) + "/web/dashboard/" + name,
                     std::ios::binary);
    std::stringstream written;
    written << in.rdbuf();
    const HttpResult r = http_call(target_, "GET", std::string("/dashboard/") + name);
    EXPECT_EQ(r.status, 200) << name;
    EXPECT_EQ(r.body, written.str()) << name;
  }
  EXPECT_EQ(http_call(target_, "GET", "/dashboard/").body,
            http_call(target_, "GET", "/dashboard/index.html").body);
  EXPECT_EQ(http_call(target_, "GET", "/dashboard/nothing.js").status, 404);
  EXPECT_EQ(http_call(target_, "POST", "/dashboard/state", {}, "{}").status, 405);
  EXPECT_EQ(http_call(target_, "HEAD", "/dashboard/feed").status, 405);
}

// Without an admin listener the players' port would serve every position: off unless asked for.
TEST_F(Dashboard, IsOffByDefaultWithoutAnAdminListener) {
  ASSERT_NO_FATAL_FAILURE(start(""));
  for (const char* path : {"/dashboard/", "/dashboard/state", "/dashboard/feed"}) {
    const HttpResult r = http_call(target_, "GET", path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.body,
              "the dashboard is off on this node: it is on by default with [gateway] "
              "admin_listen, or with [dashboard] enabled = true\n");
  }
}

// Four players, max_points 2: every other one by id is listed, the total stays exact.
TEST_F(Dashboard, BeyondMaxPointsAFrameListsAnEvenSampleAndTheExactTotal) {
  ASSERT_NO_FATAL_FAILURE(
      start("[director]\nenabled = false\n[dashboard]\nenabled = true\nmax_points = 2\n"));
  std::vector<std::unique_ptr<WsPlayer>> players;
  for (std::uint64_t id : {31, 32, 33, 34}) {
    players.push_back(std::make_unique<WsPlayer>(port_of(target_), player_token(id)));
    ASSERT_EQ(players.back()->welcome.at("type").as_string(), "welcome");
  }
  const json::object frame = wait_for_frame(
      target_, [](const json::object& f) { return f.at("players_total").to_number<int>() == 4; });
  std::vector<std::uint64_t> listed;
  for (const json::value& row : frame.at("players").as_array())
    listed.push_back(id_of(row));
  EXPECT_EQ(listed, (std::vector<std::uint64_t>{31, 33}));
}

TEST(DashboardConfig, BadValuesAreRefusedNamingTheField) {
  const std::filesystem::path dir = "/tmp/unused";
  const std::pair<const char*, const char*> cases[] = {
      {"[dashboard]\ninterval_ms = 50\n", "dashboard.interval_ms: 100..10000"},
      {"[dashboard]\nenabled = \"yes\"\n", "dashboard.enabled: true or false"},
      {"[dashboard]\nmax_points = 0\n", "dashboard.max_points: 1..1000000"},
  };
  for (const auto& [extra, message] : cases) {
    auto parsed = parse_region_node_config(node_toml(dir, extra), "dashboard_test");
    ASSERT_FALSE(parsed.ok()) << extra;
    EXPECT_NE(parsed.error().message.find(message), std::string::npos) << parsed.error().message;
  }
  auto defaults = parse_region_node_config(node_toml(dir, ""), "dashboard_test");
  ASSERT_TRUE(defaults.ok());
  EXPECT_FALSE(defaults.value().dashboard.enabled);  // no admin listener
  EXPECT_EQ(defaults.value().dashboard.interval_ms, 500u);
  auto with_admin = parse_region_node_config(
      node_toml(dir, "") + "admin_listen = \"127.0.0.1:0\"\n", "dashboard_test");
  ASSERT_TRUE(with_admin.ok()) << with_admin.error().message;
  EXPECT_TRUE(with_admin.value().dashboard.enabled);
}

// A frame's percentiles cover the values since the previous frame only.
TEST(DashboardFigures, IntervalQuantilesCoverOnlyTheValuesSinceTheLastLook) {
  replica::Histogram h({1, 5, 10});
  std::vector<std::uint64_t> before;
  const std::vector<double> qs{0.5, 0.99};
  EXPECT_EQ(interval_quantiles(h, before, qs), (std::vector<double>{0, 0}));  // none yet
  for (int i = 0; i < 3; ++i)
    h.record(3);
  EXPECT_EQ(interval_quantiles(h, before, qs), (std::vector<double>{5, 5}));
  h.record(0.5);
  h.record(0.5);
  // The whole histogram's p99 is 5 now; the interval's is 1.
  EXPECT_EQ(h.quantile_bound(0.99), 5);
  EXPECT_EQ(interval_quantiles(h, before, qs), (std::vector<double>{1, 1}));
  h.record(50);  // past the last bound
  EXPECT_EQ(interval_quantiles(h, before, qs), (std::vector<double>{-1, -1}));
  EXPECT_EQ(interval_quantiles(h, before, qs), (std::vector<double>{0, 0}));
}

}  // namespace
}  // namespace worldline::app
