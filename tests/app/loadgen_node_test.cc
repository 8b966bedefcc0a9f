// The load generator against a real node in-process (run_region_node: gateway, region, replica
// with LMDB) over real WebSockets: its report adds up. Players connect slowly, so the first ones
// act for a while before the measured window opens; an action sent before the window and acked
// in it must count neither as sent nor as acked (the demo once printed "30005 sent, 30097
// acked"), so every action counted as acked was counted as sent.
#include <gtest/gtest.h>

#include <unistd.h>
#include <filesystem>
#include <sstream>

#include "loadgen/loadgen.h"
#include "tests/support/live_node.h"

namespace worldline::loadgen {
namespace {

const char* const kSecret = "loadgen report test secret";

TEST(LoadgenAgainstANode, ItsReportCountsSentAndAckedOverTheSameWindow) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("worldline_loadgen_node_test_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  {
    testing::LiveNode node("[replica]\nid = 1\nlisten = \"127.0.0.1:0\"\ndata_dir = \"" +
                           (dir / "data").string() +
                           "\"\nsecret = \"loadgen cluster secret\"\n"
                           "[region]\nname = \"r1\"\ntick_hz = 20\nworkers = 1\n"
                           "[gateway]\nlisten = \"127.0.0.1:0\"\ntoken_secret = \"" +
                           std::string(kSecret) + "\"\n");
    ASSERT_FALSE(node.target.empty()) << "the node did not start";
    Options o;
    o.targets = {node.target};
    o.players = 6;
    o.actions_per_player_s = 20;
    o.seconds = 2;
    o.connects_per_s = 4;  // 1.5 s of ramp-up, the first players acting all along
    o.key = {gateway::TokenKey::Kind::kHs256, kSecret};
    o.progress_every_ms = 0;
    std::ostringstream out;
    const Report r = run(o, out);
    EXPECT_EQ(r.connected, 6u) << out.str();
    EXPECT_EQ(r.errors, 0u) << out.str();
    EXPECT_GT(r.acked, 0u) << out.str();
    EXPECT_LE(r.acked, r.actions_sent) << out.str();
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace worldline::loadgen
