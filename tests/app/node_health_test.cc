// /healthz on a real node over HTTP: 200 while it ticks, 503 while its replica repairs lost state
// (the write fence: no tick runs, no action is taken in), so that a load balancer sends players
// to another region meanwhile.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include <unistd.h>

#include "app/admin_http.h"
#include "replica/lmdb_journal.h"
#include "tests/support/live_node.h"

namespace worldline::app {
namespace {

// A node whose replica has one peer (id 2) that is never up: a repair waits for it.
std::string node_toml(const std::filesystem::path& data) {
  return "[replica]\nid = 1\nlisten = \"127.0.0.1:0\"\ndata_dir = \"" + data.string() +
         "\"\nsecret = \"health test cluster secret\"\n"
         "[[replica.peers]]\nid = 2\naddress = \"127.0.0.1:1\"\n"
         "[region]\nname = \"r1\"\ntick_hz = 20\nworkers = 1\n"
         "[gateway]\nlisten = \"127.0.0.1:0\"\ntoken_secret = \"health test token secret\"\n";
}

// GET /healthz until it answers `status` (a node ticks within a few of its periods), at most 10 s.
HttpResult healthz_until(const std::string& target, int status) {
  HttpResult r;
  for (int i = 0; i < 100; ++i) {
    r = http_call(target, "GET", "/healthz", "", "", std::chrono::seconds(5));
    if (r.status == status) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return r;
}

class NodeHealth : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("worldline_health_test_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ / "data");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(NodeHealth, ATickingNodeIsHealthy) {
  testing::LiveNode node(node_toml(dir_ / "data"));
  ASSERT_FALSE(node.target.empty()) << "the node did not start";
  const HttpResult r = healthz_until(node.target, 200);
  EXPECT_EQ(r.status, 200) << r.body << r.error;
  EXPECT_EQ(r.body, "ok\n");
}

// A repair left unfinished (durably marked in the journal) resumes at start and waits for peer 2,
// which never answers: the node's gateway is up, but it takes no action in, and says so.
TEST_F(NodeHealth, ANodeRepairingLostStateIsUnhealthyAndSaysWhy) {
  {
    auto journal = replica::LmdbJournal::open((dir_ / "data").string());
    ASSERT_TRUE(journal.ok()) << journal.error().message;
    ASSERT_TRUE(journal.value()->set_repairing(true).ok());
  }
  testing::LiveNode node(node_toml(dir_ / "data"));
  ASSERT_FALSE(node.target.empty()) << "the node did not start";
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // ten tick periods
  const HttpResult r = http_call(node.target, "GET", "/healthz", "", "", std::chrono::seconds(5));
  EXPECT_EQ(r.status, 503) << r.body << r.error << "\n"
                           << http_call(node.target, "GET", "/metrics").body;
  EXPECT_EQ(r.body, "repairing: lost state is being fetched back from the peers; actions wait\n");
}

}  // namespace
}  // namespace worldline::app
