// The replica's node configuration ([replica] of a node's TOML): a valid file parsed, every
// mistake refused with the file and the field named.
#include "replica/node_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace worldline::replica {
namespace {

using ::testing::HasSubstr;

TEST(NodeConfig, ParsesAValidConfig) {
  auto c = parse_node_config(R"(
[replica]
id = 3
listen = "127.0.0.1:7103"
data_dir = "/tmp/x"
secret = "0123456789"
durability = "replicated:1"
[[replica.peers]]
id = 1
address = "127.0.0.1:7101"
)",
                             "t.toml");
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_EQ(c.value().id, 3u);
  EXPECT_EQ(c.value().replicated_k, 1u);
  ASSERT_EQ(c.value().peers.size(), 1u);
  EXPECT_EQ(c.value().peers[0].address, "127.0.0.1:7101");
  EXPECT_EQ(c.value().tick_ms, 50u);
  EXPECT_EQ(c.value().map_size_mb, 4096u);  // the default
}

TEST(NodeConfig, EveryMistakeIsNamed) {
  const std::string head = "[replica]\nid = 1\nlisten = \"h:1\"\ndata_dir = \"/d\"\n";
  auto err = [](const std::string& text) {
    auto c = parse_node_config(text, "t.toml");
    return c.ok() ? std::string("ok") : c.error().message;
  };
  EXPECT_EQ(err("x = 1"), "t.toml: missing [replica] table");
  EXPECT_THAT(err("[replica\n"), HasSubstr("t.toml: TOML syntax"));
  EXPECT_EQ(err("[replica]\nid = 0\n"), "t.toml: replica.id must be 1..65535");
  EXPECT_EQ(err(head), "t.toml: replica.secret (or secret_file) must be at least 8 characters");
  EXPECT_EQ(err(head + "secret = \"0123456789\"\ndurability = \"eventual\"\n"),
            "t.toml: replica.durability must be \"local\" or \"replicated:k\", not 'eventual'");
  EXPECT_EQ(err(head + "secret = \"0123456789\"\ndurability = \"replicated:2\"\n"),
            "t.toml: replica.durability replicated:2 but only 0 peers");
  EXPECT_EQ(err(head + "secret = \"0123456789\"\n[[replica.peers]]\nid = 1\naddress = \"h:2\"\n"),
            "t.toml: replica id 1 appears twice");
  EXPECT_EQ(err("[replica]\nid = 1\nlisten = \"nocolon\"\n"),
            "t.toml: replica.listen must be host:port");
  EXPECT_EQ(err("[replica]\nid = 1\nlisten = \"h:1\"\n"), "t.toml: replica.data_dir is required");
  EXPECT_EQ(err(head + "secret = \"0123456789\"\nmap_size_mb = 8\n"),
            "t.toml: replica.map_size_mb must be 16..16777216 (MiB), not 8");
  EXPECT_EQ(load_node_config("/nonexistent/x.toml").error().message,
            "/nonexistent/x.toml: cannot open the file");
}

}  // namespace
}  // namespace worldline::replica
