// The anticheat review routes over real HTTP against a real node (run_region_node in-process:
// gateway, region, replica with LMDB): WebSocket clients cheat (two teleporters, one rapid
// firer) so the node's detector raises real flags; then the admin routes list them with each
// filter, show one's evidence, keep verdicts (last wins; bad bodies refused with the field and
// the reason), recalibrate from them, and refuse tokens without role admin. A restart keeps the
// flags and verdicts and gives new flags ids never given before.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <iostream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "app/flags_cli.h"
#include "app/region_node.h"
#include "gateway/token.h"
#include "tests/support/unix_time.h"
#include "tests/support/ws_player.h"

namespace worldline::app {
namespace {

namespace json = boost::json;

const char* const kSecret = "flag review test secret";

using testing::unix_ms;
using testing::unix_s;

std::string token(std::uint64_t player, const std::string& role) {
  return gateway::mint_token({player, role, unix_s() + 600, unix_s()},
                             {gateway::TokenKey::Kind::kHs256, kSecret})
      .value();
}

// One region node in a thread, on a data directory that outlives it (for the restart).
class LiveNode {
 public:
  LiveNode(const std::string& dir, int rpc_port) {
    const std::string toml = "[replica]\nid = 1\nlisten = \"127.0.0.1:" + std::to_string(rpc_port) +
                             "\"\ndata_dir = \"" + dir +
                             "\"\nsecret = \"flag review cluster secret\"\n"
                             "[region]\nname = \"r1\"\ntick_hz = 20\nworkers = 1\n"
                             "spawn_radius = 0\n"  // everyone starts at the origin
                             "[gateway]\nlisten = \"127.0.0.1:0\"\ntoken_secret = \"" +
                             kSecret + "\"\n[anticheat]\nrecalibrate_min_reviewed = 3\n";
    auto parsed = parse_region_node_config(toml, "flag_review_test");
    EXPECT_TRUE(parsed.ok()) << parsed.error().message;
    config_ = std::move(parsed).value();
    run_.status_interval_ms = 0;
    run_.stop = &stop_;
    run_.on_listening = [this](std::uint16_t port) { port_.set_value(port); };
    thread_ = std::thread([this] { code_ = run_region_node(config_, run_); });
    auto port = port_.get_future();
    if (port.wait_for(std::chrono::seconds(20)) == std::future_status::ready) {
      target = "127.0.0.1:" + std::to_string(port.get());
      gateway_port = static_cast<std::uint16_t>(std::stoi(target.substr(10)));
    }
  }
  ~LiveNode() {
    stop_ = true;
    thread_.join();
  }
  std::string target;  // empty: it did not start
  std::uint16_t gateway_port = 0;

 private:
  RegionNodeConfig config_;
  RegionNodeRun run_;
  std::atomic<bool> stop_{false};
  std::promise<std::uint16_t> port_;
  std::thread thread_;
  int code_ = 0;
};

// A game client over the node's WebSocket, with a player token of this test's key.
class Player : public testing::WsPlayer {
 public:
  Player(std::uint16_t port, std::uint64_t id) : WsPlayer(port, token(id, "player")) {}
};

std::string admin() {
  return token(1, "admin");
}

FlagsCommand command(const std::string& name, const std::string& target, const std::string& t) {
  FlagsCommand c;
  c.command = name;
  c.target = target;
  c.token = t;
  return c;
}

json::object get_json(const std::string& target, const std::string& path) {
  const HttpResult r = http_call(target, "GET", path, admin());
  EXPECT_EQ(r.status, 200) << path << ": " << r.error << r.body;
  if (r.status != 200) return {};
  return json::parse(r.body).as_object();
}

// The ids a list reply names, in its order.
std::vector<std::string> ids(const json::object& list) {
  std::vector<std::string> out;
  for (const json::value& f : list.at("flags").as_array())
    out.emplace_back(f.at("id").as_string());
  return out;
}

// Polls the list (bounded: 15 s) until it holds `n` flags.
json::object wait_for_flags(const std::string& target, std::size_t n) {
  json::object list;
  for (int i = 0; i < 150; ++i) {
    list = get_json(target, "/admin/flags");
    if (list.contains("total") && list.at("total").to_number<std::size_t>() >= n) return list;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ADD_FAILURE() << "fewer than " << n << " flags after 15 s: " << json::serialize(list);
  return list;
}

std::string id_of(const json::object& list, std::uint64_t player) {
  for (const json::value& f : list.at("flags").as_array()) {
    if (f.at("player").to_number<std::uint64_t>() == player)
      return std::string(f.at("id").as_string());
  }
  return {};
}

class FlagReview : public ::testing::Test {
 protected:
  void SetUp() override {
    std::mt19937 rng(std::random_device{}());
    rpc_port = 20000 + static_cast<int>(rng() % 400) * 10 + 7;  // below the ephemeral ports
    dir =
        std::filesystem::temp_directory_path() / ("worldline-flag-review-" + std::to_string(rng()));
    std::filesystem::create_directories(dir);
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }

  // Players 101 and 104 teleport (100 units a move, 3 ticks' worth is 30: every one far from where
  // the region has them, however it clamped the last), 102 fires at 103 every 20 ms of its clock
  // (the cooldown is 100 ms); 103 stands still. Returns the attack times.
  std::vector<std::uint64_t> cheat(const LiveNode& node) {
    Player target(node.gateway_port, 103);
    EXPECT_EQ(target.welcome.as_object().at("type").as_string(), "welcome");
    Player jumper(node.gateway_port, 101), other(node.gateway_port, 104),
        gunner(node.gateway_port, 102);
    const std::uint64_t t0 = unix_ms();
    for (int i = 0; i < 4; ++i) {
      jumper.move(i % 2 ? 0 : 100, t0 + 50 * i);
      other.move(i % 2 ? 0 : 100, t0 + 50 * i);
    }
    std::vector<std::uint64_t> times;
    for (int i = 0; i < 12; ++i) {
      times.push_back(t0 + 20 * i);
      gunner.attack(103, times.back());
    }
    wait_for_flags(node.target, 3);
    return times;
  }

  int rpc_port = 0;
  std::filesystem::path dir;
};

TEST_F(FlagReview, RoutesRefuseRequestsWithoutAnAdminToken) {
  LiveNode node(dir.string(), rpc_port);
  ASSERT_FALSE(node.target.empty());
  const std::string player = token(5, "player");
  struct Route {
    const char *method, *path, *body;
  };
  for (const Route& r : {Route{"GET", "/admin/flags", ""}, Route{"GET", "/admin/flags/1", ""},
                         Route{"POST", "/admin/flags/1/verdict", R"({"verdict":"confirmed"})"},
                         Route{"POST", "/admin/anticheat/recalibrate", ""}}) {
    const HttpResult none = http_call(node.target, r.method, r.path, "", r.body);
    EXPECT_EQ(none.status, 401) << r.path;
    EXPECT_NE(none.body.find("needs Authorization: Bearer"), std::string::npos) << none.body;
    const HttpResult forged = http_call(node.target, r.method, r.path, player + "x", r.body);
    EXPECT_EQ(forged.status, 401) << r.path;
    const HttpResult not_admin = http_call(node.target, r.method, r.path, player, r.body);
    EXPECT_EQ(not_admin.status, 403) << r.path;
    EXPECT_EQ(not_admin.body, "role admin required\n");
  }
}

TEST_F(FlagReview, ListFiltersShowEvidenceVerdictsAndRecalibration) {
  LiveNode node(dir.string(), rpc_port);
  ASSERT_FALSE(node.target.empty());
  const std::vector<std::uint64_t> attack_times = cheat(node);
  const json::object all = get_json(node.target, "/admin/flags");
  ASSERT_EQ(all.at("total").to_number<int>(), 3) << json::serialize(all);
  const std::string jumper = id_of(all, 101), other = id_of(all, 104), gunner = id_of(all, 102);
  ASSERT_FALSE(jumper.empty() || other.empty() || gunner.empty()) << json::serialize(all);
  // Sorted by confidence, highest first, then newest first.
  const json::array& flags = all.at("flags").as_array();
  for (std::size_t i = 1; i < flags.size(); ++i) {
    const double c0 = flags[i - 1].at("confidence").to_number<double>(),
                 c1 = flags[i].at("confidence").to_number<double>();
    EXPECT_TRUE(c0 > c1 || (c0 == c1 && flags[i - 1].at("server_ms").to_number<std::uint64_t>() >=
                                            flags[i].at("server_ms").to_number<std::uint64_t>()))
        << json::serialize(all);
  }
  for (const json::value& f : flags) {
    EXPECT_EQ(f.at("region").to_number<int>(), 1);
    EXPECT_GE(f.at("confidence").to_number<double>(), 0.9);
    EXPECT_TRUE(f.at("verdict").is_null());
    // Flag ids: region 1 above bit 48.
    EXPECT_EQ(std::stoull(std::string(f.at("id").as_string())) >> 48, 1u);
  }

  using Ids = std::vector<std::string>;
  EXPECT_EQ(ids(get_json(node.target, "/admin/flags?check=rapid_fire")), Ids{gunner});
  const Ids teleporters = ids(get_json(node.target, "/admin/flags?check=teleport"));
  EXPECT_EQ(std::set<std::string>(teleporters.begin(), teleporters.end()),
            (std::set<std::string>{jumper, other}));
  EXPECT_EQ(ids(get_json(node.target, "/admin/flags?player=104")), Ids{other});
  EXPECT_EQ(ids(get_json(node.target, "/admin/flags?region=1")), ids(all));
  EXPECT_EQ(ids(get_json(node.target, "/admin/flags?region=2")), Ids{});
  const json::object one = get_json(node.target, "/admin/flags?limit=1");
  EXPECT_EQ(ids(one), Ids{ids(all)[0]});
  EXPECT_EQ(one.at("total").to_number<int>(), 3);
  // min_confidence: exactly those at or above the lowest but one.
  const double second = flags[1].at("confidence").to_number<double>();
  std::ostringstream min;
  min.precision(17);
  min << second;
  Ids at_least;
  for (const json::value& f : flags)
    if (f.at("confidence").to_number<double>() >= second)
      at_least.emplace_back(f.at("id").as_string());
  EXPECT_EQ(ids(get_json(node.target, "/admin/flags?min_confidence=" + min.str())), at_least);
  EXPECT_EQ(ids(get_json(node.target, "/admin/flags?check=rapid_fire&player=101")), Ids{});
  for (const char* bad :
       {"?check=aimbot", "?min_confidence=2", "?limit=0", "?frobnicate=1", "?region=x"}) {
    const HttpResult r = http_call(node.target, "GET", std::string("/admin/flags") + bad, admin());
    EXPECT_EQ(r.status, 400) << bad << ": " << r.body;
  }
  EXPECT_EQ(http_call(node.target, "GET", "/admin/flags?check=aimbot", admin()).body,
            "check: one of speed, teleport, rapid_fire, reach, clock, bot_timing, snap, reaction, "
            "hit_ratio, not 'aimbot'\n");

  // The gunner's flag: its evidence is its attacks as sent, oldest first, up to the one that
  // raised the flag; rapid_fire fired, with its statistic and threshold.
  const json::object shown = get_json(node.target, "/admin/flags/" + gunner);
  EXPECT_EQ(shown.at("player").to_number<int>(), 102);
  const json::array& evidence = shown.at("evidence").as_array();
  ASSERT_GE(evidence.size(), 7u);  // 6 attacks inside the cooldown make 4.5 of the 4.48 needed
  ASSERT_LE(evidence.size(), attack_times.size());
  for (std::size_t i = 0; i < evidence.size(); ++i) {
    const json::object& e = evidence[i].as_object();
    EXPECT_EQ(e.at("seq").to_number<std::uint64_t>(), i + 1);
    EXPECT_EQ(e.at("client_ms").to_number<std::uint64_t>(), attack_times[i]);
    EXPECT_EQ(e.at("kind").as_string(), "attack");
    EXPECT_LE(e.at("reach").to_number<double>(), 0.0 + 1e-9);  // 103 stands where 102 does
  }
  // Every attack after the first within the cooldown: refused on it.
  EXPECT_EQ(evidence[1].at("limit").as_string(), "cooldown");
  EXPECT_FALSE(evidence[1].at("ok").as_bool());
  const json::array& checks = shown.at("checks").as_array();
  ASSERT_EQ(checks.size(), static_cast<std::size_t>(region::anticheat::kChecks));  // every check
  EXPECT_EQ(checks[2].at("check").as_string(), "rapid_fire");
  EXPECT_EQ(checks[2].at("threshold").to_number<double>(), 3.0);
  EXPECT_NEAR(checks[2].at("value").to_number<double>(),
              checks[2].at("statistic").to_number<double>() / 3, 1e-9);
  EXPECT_GE(checks[2].at("value").to_number<double>(), 1.49);
  EXPECT_EQ(shown.at("fired").as_array()[0].at("check").as_string(), "rapid_fire");
  // An unknown id, and one that is no number.
  const HttpResult unknown = http_call(node.target, "GET", "/admin/flags/12345", admin());
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.body, "no flag 12345 in the world\n");
  EXPECT_EQ(http_call(node.target, "GET", "/admin/flags/abc", admin()).status, 404);
  // A path that only starts like the route names no flag, whatever follows.
  const HttpResult glued = http_call(node.target, "GET", "/admin/flags" + id_of(all, 102), admin());
  EXPECT_EQ(glued.status, 404);
  EXPECT_EQ(glued.body.rfind("not found: /admin/flags", 0), 0u) << glued.body;

  // Bad verdict bodies: 400 with the field and the reason; an unknown flag: 404.
  const std::string verdict_path = "/admin/flags/" + jumper + "/verdict";
  const std::pair<std::string, std::string> bad_bodies[] = {
      {"not json", "body: not JSON"},
      {"[1]", "body: a JSON object"},
      {R"({"note":"x"})", "verdict: missing"},
      {R"({"verdict":"maybe"})", "verdict: confirmed or dismissed"},
      {R"({"verdict":"confirmed","note":7})", "note: a string"},
      {R"({"verdict":"confirmed","note":")" + std::string(1025, 'n') + "\"}",
       "note: longer than 1 KiB (1025 bytes)"}};
  for (const auto& [body, reason] : bad_bodies) {
    const HttpResult r = http_call(node.target, "POST", verdict_path, admin(), body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_EQ(r.body.rfind(reason, 0), 0u) << r.body;
  }
  EXPECT_EQ(http_call(node.target, "POST", "/admin/flags/12345/verdict", admin(),
                      R"({"verdict":"confirmed"})")
                .status,
            404);

  // A verdict, then another on the same flag: the last wins, in the list and in the flag.
  const HttpResult first = http_call(node.target, "POST", verdict_path, admin(),
                                     R"({"verdict":"dismissed","note":"lag?"})");
  ASSERT_EQ(first.status, 200) << first.body;
  const std::string note = "replay: 60 units in one frame, twice — confirmed 100%";
  const HttpResult second_verdict =
      http_call(node.target, "POST", verdict_path, admin(),
                json::serialize(json::object{{"verdict", "confirmed"}, {"note", note}}));
  ASSERT_EQ(second_verdict.status, 200) << second_verdict.body;
  const json::value listed = get_json(node.target, "/admin/flags?player=101").at("flags").at(0);
  EXPECT_EQ(listed.at("verdict").at("verdict").as_string(), "confirmed");
  EXPECT_EQ(listed.at("verdict").at("by").to_number<int>(), 1);
  EXPECT_EQ(listed.at("verdict").at("note").as_string(), note);
  EXPECT_TRUE(
      get_json(node.target, "/admin/flags?player=102").at("flags").at(0).at("verdict").is_null());

  // Recalibration: one reviewed flag is too few (3 needed here); three of one class are one class.
  const HttpResult few = http_call(node.target, "POST", "/admin/anticheat/recalibrate", admin());
  EXPECT_EQ(few.status, 409);
  EXPECT_EQ(json::parse(few.body).at("reason").as_string().find("too few reviewed flags: 1"), 0u)
      << few.body;
  // The two highest scores confirmed, the lowest dismissed: the fit must give a > 0.
  std::vector<std::pair<double, std::string>> by_score;
  for (const json::value& f : flags)
    by_score.emplace_back(f.at("score").to_number<double>(), std::string(f.at("id").as_string()));
  std::sort(by_score.begin(), by_score.end());
  ASSERT_LT(by_score[0].first, by_score[1].first) << "the test needs the lowest score alone";
  for (std::size_t i = 0; i < 3; ++i) {
    const std::string v = i == 0 ? "dismissed" : "confirmed";
    ASSERT_EQ(http_call(node.target, "POST", "/admin/flags/" + by_score[i].second + "/verdict",
                        admin(), R"({"verdict":")" + v + "\"}")
                  .status,
              200);
  }
  const HttpResult fitted = http_call(node.target, "POST", "/admin/anticheat/recalibrate", admin());
  ASSERT_EQ(fitted.status, 200) << fitted.body;
  const json::object fit = json::parse(fitted.body).as_object();
  EXPECT_TRUE(fit.at("applied").as_bool());
  EXPECT_EQ(fit.at("reviewed").to_number<int>(), 3);
  EXPECT_EQ(fit.at("confirmed").to_number<int>(), 2);
  const double a = fit.at("fit").at("a").to_number<double>(),
               b = fit.at("fit").at("b").to_number<double>();
  EXPECT_TRUE(std::isfinite(a) && std::isfinite(b)) << fitted.body;
  EXPECT_GT(a, 0) << fitted.body;
  EXPECT_EQ(fit.at("previous").at("a").to_number<double>(), 0.78);

  // Metrics: the verdicts written here and the calibration in force (refreshed every 250 ms).
  bool seen = false;
  for (int i = 0; i < 40 && !seen; ++i) {
    const std::string m = http_call(node.target, "GET", "/metrics").body;
    std::istringstream lines(m);
    std::string line;
    double metric_a = 0;
    std::uint64_t confirmed = 0, dismissed = 0;
    while (std::getline(lines, line)) {
      if (line.rfind("worldline_anticheat_calibration{", 0) == 0 &&
          line.find("param=\"a\"") != std::string::npos)
        metric_a = std::stod(line.substr(line.rfind(' ') + 1));
      if (line.rfind("worldline_anticheat_verdicts_total{", 0) == 0) {
        const auto n = std::stoull(line.substr(line.rfind(' ') + 1));
        (line.find("\"confirmed\"") != std::string::npos ? confirmed : dismissed) = n;
      }
    }
    seen = std::abs(metric_a - a) < 1e-6 * std::max(1.0, a) && confirmed == 3 && dismissed == 2;
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(seen) << "the metrics never showed a = " << a << ", 3 confirmed, 2 dismissed";

  // The terminal: the same list as a table, and the evidence as a timeline.
  std::ostringstream out, err;
  FlagsCommand list = command("list", node.target, admin());
  list.check = "teleport";
  ASSERT_EQ(run_flags_command(list, out, err), 0) << err.str();
  EXPECT_NE(out.str().find(jumper), std::string::npos) << out.str();
  EXPECT_NE(out.str().find(other), std::string::npos) << out.str();
  EXPECT_EQ(out.str().find(gunner), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("2 of 2 flags"), std::string::npos) << out.str();
  std::ostringstream show_out;
  FlagsCommand show = command("show", node.target, admin());
  show.id = gunner;
  ASSERT_EQ(run_flags_command(show, show_out, err), 0) << err.str();
  EXPECT_NE(show_out.str().find("rapid_fire"), std::string::npos) << show_out.str();
  EXPECT_NE(show_out.str().find("FIRED"), std::string::npos) << show_out.str();
  EXPECT_NE(show_out.str().find(std::to_string(attack_times[0])), std::string::npos)
      << show_out.str();
  // FLAG_REVIEW_PRINT=1: print what the terminal shows (docs/anticheat.md's example session).
  if (std::getenv("FLAG_REVIEW_PRINT")) {
    std::cout << out.str() << "\n" << show_out.str() << "\n" << few.body << fitted.body;
  }
  FlagsCommand refused = command("show", node.target, token(5, "player"));
  refused.id = gunner;
  std::ostringstream refused_err;
  EXPECT_EQ(run_flags_command(refused, out, refused_err), 1);
  EXPECT_EQ(refused_err.str(), "HTTP 403: role admin required\n");
}

// Flags and verdicts are in the journaled world: a restarted node lists them, and the flags it
// raises then get ids it never gave before (the detector's own counter starts again at 1).
TEST_F(FlagReview, ARestartKeepsFlagsAndVerdictsAndNeverReusesAnId) {
  std::vector<std::string> before;
  std::string gunner;
  {
    LiveNode node(dir.string(), rpc_port);
    ASSERT_FALSE(node.target.empty());
    cheat(node);
    const json::object all = get_json(node.target, "/admin/flags");
    before = ids(all);
    gunner = id_of(all, 102);
    ASSERT_EQ(http_call(node.target, "POST", "/admin/flags/" + gunner + "/verdict", admin(),
                        R"({"verdict":"confirmed","note":"kept"})")
                  .status,
              200);
  }
  LiveNode node(dir.string(), rpc_port);
  ASSERT_FALSE(node.target.empty());
  const json::object after = get_json(node.target, "/admin/flags");
  const std::vector<std::string> listed = ids(after);
  EXPECT_EQ(std::set<std::string>(listed.begin(), listed.end()),
            std::set<std::string>(before.begin(), before.end()));
  const json::value kept = get_json(node.target, "/admin/flags/" + gunner).at("verdict");
  EXPECT_EQ(kept.at("note").as_string(), "kept");
  // A new teleporter after the restart.
  {
    Player jumper(node.gateway_port, 105);
    const std::uint64_t t0 = unix_ms();
    for (int i = 0; i < 4; ++i)
      jumper.move(i % 2 ? 0 : 100, t0 + 50 * i);
    const json::object now = wait_for_flags(node.target, 4);
    const std::string fresh = id_of(now, 105);
    ASSERT_FALSE(fresh.empty()) << json::serialize(now);
    EXPECT_EQ(std::count(before.begin(), before.end(), fresh), 0) << fresh;
    for (const std::string& old : before)
      EXPECT_GT(std::stoull(fresh), std::stoull(old));
  }
}

}  // namespace
}  // namespace worldline::app
