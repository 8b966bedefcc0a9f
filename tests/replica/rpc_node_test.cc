// A live ReplicaNode on loopback, driven by a hand-written Cap'n Proto client: logins with a
// wrong secret, an unknown replica id or a replayed nonce are refused; a logged-in session that
// delivers a malformed message is cut, and the node goes on serving new sessions.
#include "replica/rpc_node.h"

#include <capnp/rpc-twoparty.h>
#include <gtest/gtest.h>
#include <kj/async-io.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <thread>

#include "replica/messages.h"
#include "schemas/replica.capnp.h"

namespace worldline::replica {
namespace {

namespace s = ::worldline::schema;
namespace fs = std::filesystem;

std::string str(capnp::Data::Reader d) {
  return std::string(reinterpret_cast<const char*>(d.begin()), d.size());
}
capnp::Data::Reader as_data(const std::string& x) {
  return capnp::Data::Reader(reinterpret_cast<const kj::byte*>(x.data()), x.size());
}

class LiveNode : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("worldline-node-" + std::to_string(rd()));
    port_ = 40000 + static_cast<int>(rd() % 5000) * 2;
    ReplicaNodeConfig c;
    c.id = 1;
    c.listen = "127.0.0.1:" + std::to_string(port_);
    c.data_dir = dir_.string();
    c.secret = "the-right-secret";
    c.peers.push_back({2, "127.0.0.1:" + std::to_string(port_ + 1)});  // nobody there
    thread_ = std::thread([this, c] {
      ReplicaNode node(c, registry_);
      RunOptions o;
      o.stop = &stop_;
      o.status_interval_ms = 0;
      exit_code_ = node.run(o);
    });
  }
  void TearDown() override {
    stop_ = true;
    thread_.join();
    EXPECT_EQ(exit_code_, 0);
    fs::remove_all(dir_);
  }

  // Connects (retrying while the node starts) and returns the stream.
  kj::Own<kj::AsyncIoStream> connect(kj::AsyncIoContext& io) {
    for (int attempt = 0; attempt < 100; ++attempt) {
      try {
        auto addr = io.provider->getNetwork()
                        .parseAddress("127.0.0.1:" + std::to_string(port_))
                        .wait(io.waitScope);
        return addr->connect().wait(io.waitScope);
      } catch (const kj::Exception&) {
        io.provider->getTimer().afterDelay(50 * kj::MILLISECONDS).wait(io.waitScope);
      }
    }
    KJ_FAIL_ASSERT("the node never started listening");
  }

  // Logs in as `replica` with `secret`; returns the session or throws kj::Exception.
  s::ReplicaSession::Client login(kj::AsyncIoContext& io, capnp::TwoPartyClient& client,
                                  ReplicaId replica, const std::string& secret,
                                  std::string* nonce_out = nullptr) {
    auto boot = client.bootstrap().castAs<s::ReplicaLogin>();
    const std::string nonce = str(boot.challengeRequest().send().wait(io.waitScope).getNonce());
    if (nonce_out) *nonce_out = nonce;
    auto req = boot.loginRequest();
    req.setReplica(replica);
    req.setNonce(as_data(nonce));
    req.setProof(as_data(login_proof(secret, nonce, replica)));
    return req.send().wait(io.waitScope).getSession();
  }

  // Delivers a heartbeat from replica 2; throws kj::Exception if the session is refused or gone.
  static void deliver_heartbeat(kj::AsyncIoContext& io, s::ReplicaSession::Client& session) {
    GossipMessage hb;
    hb.origin = 2;
    hb.kind = GossipMessage::Kind::kHeartbeat;
    auto req = session.deliverRequest();
    req.setMessage(as_data(encode_message(hb)));
    req.send().wait(io.waitScope);
  }

  ComponentRegistry registry_ = ComponentRegistry::game_defaults();
  fs::path dir_;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  int exit_code_ = -1;
};

TEST_F(LiveNode, RefusesWrongSecretsUnknownReplicasAndReplayedNonces) {
  auto io = kj::setupAsyncIo();
  {
    auto stream = connect(io);
    capnp::TwoPartyClient client(*stream);
    EXPECT_THROW(login(io, client, 2, "a-wrong-secret"), kj::Exception);
  }
  {
    auto stream = connect(io);
    capnp::TwoPartyClient client(*stream);
    EXPECT_THROW(login(io, client, 7, "the-right-secret"), kj::Exception);  // not a peer
  }
  std::string used_nonce;
  {
    auto stream = connect(io);
    capnp::TwoPartyClient client(*stream);
    auto session = login(io, client, 2, "the-right-secret", &used_nonce);
    EXPECT_NO_THROW(deliver_heartbeat(io, session));
  }
  {
    // Replaying a proof for a nonce that was already used is refused.
    auto stream = connect(io);
    capnp::TwoPartyClient client(*stream);
    auto boot = client.bootstrap().castAs<s::ReplicaLogin>();
    auto req = boot.loginRequest();
    req.setReplica(2);
    req.setNonce(as_data(used_nonce));
    req.setProof(as_data(login_proof("the-right-secret", used_nonce, 2)));
    EXPECT_THROW(req.send().wait(io.waitScope), kj::Exception);
  }
}

TEST_F(LiveNode, CutsASessionThatSendsGarbageAndKeepsServing) {
  auto io = kj::setupAsyncIo();
  {
    auto stream = connect(io);
    capnp::TwoPartyClient client(*stream);
    auto session = login(io, client, 2, "the-right-secret");
    auto bad = session.deliverRequest();
    bad.setMessage(as_data(std::string("\x07garbage, not a gossip message")));
    EXPECT_THROW(bad.send().wait(io.waitScope), kj::Exception);
    // The connection is gone: the next call fails too.
    EXPECT_THROW(deliver_heartbeat(io, session), kj::Exception);
  }
  {
    // A new session works.
    auto stream = connect(io);
    capnp::TwoPartyClient client(*stream);
    auto session = login(io, client, 2, "the-right-secret");
    EXPECT_NO_THROW(deliver_heartbeat(io, session));
  }
}

}  // namespace
}  // namespace worldline::replica
