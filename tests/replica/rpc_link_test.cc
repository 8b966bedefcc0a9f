// A live ReplicaNode whose peer is a fake: a Cap'n Proto server that logs the node in, records
// every message the node delivers, and holds its answers to delta parts while told to (a slow or
// stuck peer), and a client that logs in to the node as that peer. Checks what the node's link to
// a slow peer holds (replica/send_queue.h) while the node commits a group every tick.
#include <capnp/rpc-twoparty.h>
#include <gtest/gtest.h>
#include <kj/async-io.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <random>
#include <thread>

#include "crdt/components.h"
#include "replica/messages.h"
#include "replica/replica.h"
#include "replica/rpc_node.h"
#include "schemas/replica.capnp.h"

namespace worldline::replica {
namespace {

namespace s = ::worldline::schema;
namespace fs = std::filesystem;

capnp::Data::Reader as_data(const std::string& x) {
  return capnp::Data::Reader(reinterpret_cast<const kj::byte*>(x.data()), x.size());
}

constexpr char kSecret[] = "link-secret-0123";

// The node's peer 2, as the node sees it.
struct FakePeer {
  std::vector<GossipMessage> received;  // everything the node delivered, in order
  bool hold_parts = true;               // delta parts are answered only at release()
  std::vector<kj::Own<kj::PromiseFulfiller<void>>> held;

  std::vector<DeltaBatch> parts() const {  // the delta parts received, in order
    std::vector<DeltaBatch> out;
    for (const auto& m : received) {
      if (m.kind == GossipMessage::Kind::kDelta && m.delta.seq != 0) out.push_back(m.delta);
    }
    return out;
  }
  std::size_t parts_received() const { return parts().size(); }
  void release() {
    hold_parts = false;
    for (auto& f : held)
      f->fulfill();
    held.clear();
  }
  void fail_held() {
    for (auto& f : held)
      f->reject(KJ_EXCEPTION(DISCONNECTED, "the fake peer went away"));
    held.clear();
  }
};

class FakeSession final : public s::ReplicaSession::Server {
 public:
  explicit FakeSession(FakePeer& peer) : peer_(peer) {}
  kj::Promise<void> deliver(DeliverContext context) override {
    auto data = context.getParams().getMessage();
    auto m =
        decode_message(std::string_view(reinterpret_cast<const char*>(data.begin()), data.size()));
    KJ_ASSERT(m.ok(), "the node delivered a malformed message");
    peer_.received.push_back(m.value());
    const GossipMessage& got = peer_.received.back();
    if (got.kind == GossipMessage::Kind::kDelta && got.delta.seq != 0 && peer_.hold_parts) {
      auto paf = kj::newPromiseAndFulfiller<void>();
      peer_.held.push_back(kj::mv(paf.fulfiller));
      return kj::mv(paf.promise);
    }
    return kj::READY_NOW;
  }

 private:
  FakePeer& peer_;
};

class FakeLogin final : public s::ReplicaLogin::Server {
 public:
  explicit FakeLogin(FakePeer& peer) : peer_(peer) {}
  kj::Promise<void> challenge(ChallengeContext context) override {
    context.getResults().setNonce(as_data("nonce"));
    return kj::READY_NOW;
  }
  kj::Promise<void> login(LoginContext context) override {
    context.getResults().setSession(kj::heap<FakeSession>(peer_));
    return kj::READY_NOW;
  }

 private:
  FakePeer& peer_;
};

// Node 1 writing 2 000 positions every 10 ms tick (a busy region), in 512-byte parts, to the
// fake peer 2; the test's thread runs the fake.
class SlowPeerLink : public ::testing::Test {
 protected:
  // KJ members may throw from destructors; a finished test has nothing left to report.
  ~SlowPeerLink() noexcept override {}
  void start(int port_band_start) {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("worldline-link-" + std::to_string(rd()));
    node_port_ = port_band_start + static_cast<int>(rd() % 26);  // README, "Developing": ports
    listener_ =
        io_.provider->getNetwork().parseAddress("127.0.0.1", 0).wait(io_.waitScope)->listen();
    server_ = kj::heap<capnp::TwoPartyServer>(kj::heap<FakeLogin>(fake_));
    serving_ = server_->listen(*listener_).eagerlyEvaluate(nullptr);
    ReplicaNodeConfig c;
    c.id = 1;
    c.listen = "127.0.0.1:" + std::to_string(node_port_);
    c.data_dir = dir_.string();
    c.secret = kSecret;
    c.tick_ms = 10;
    c.gossip_interval_ms = 10;
    c.max_batch_bytes = 512;
    c.peers.push_back({2, "127.0.0.1:" + std::to_string(listener_->getPort())});
    thread_ = std::thread([this, c] {
      ReplicaNode node(c, registry_);
      RunOptions o;
      o.stop = &stop_;
      o.status_interval_ms = 0;
      o.load.kind = WriteLoad::Kind::kPositions;
      o.load.rate_per_s = 200'000;
      o.load.count = 1'000'000'000;
      o.load.entities = 2'000;
      NodeStats stats;
      o.stats_out = &stats;
      o.on_tick = [this](const Replica& r, std::uint64_t) { next_seq_ = r.next_seq(); };
      o.after_commit = [this, &stats](const Replica&, bool, std::uint64_t) {
        std::lock_guard<std::mutex> lock(stats_mutex_);
        stats_ = stats;
      };
      exit_code_ = node.run(o);
    });
    log_in_to_node();
  }
  void TearDown() override {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    EXPECT_EQ(exit_code_, 0);
    fs::remove_all(dir_);
  }

  // Logs in to the node as replica 2 (retrying while it starts), so the fake can tell it things.
  void log_in_to_node() {
    for (int attempt = 0; attempt < 100 && session_ == nullptr; ++attempt) {
      try {
        auto addr = io_.provider->getNetwork()
                        .parseAddress("127.0.0.1:" + std::to_string(node_port_))
                        .wait(io_.waitScope);
        stream_ = addr->connect().wait(io_.waitScope);
        client_ = kj::heap<capnp::TwoPartyClient>(*stream_);
        auto login = client_->bootstrap().castAs<s::ReplicaLogin>();
        auto challenge = login.challengeRequest().send().wait(io_.waitScope);
        auto nonce = challenge.getNonce();
        const std::string n(reinterpret_cast<const char*>(nonce.begin()), nonce.size());
        auto req = login.loginRequest();
        req.setReplica(2);
        req.setNonce(as_data(n));
        req.setProof(as_data(login_proof(kSecret, n, 2)));
        session_ = req.send().wait(io_.waitScope).getSession();
      } catch (const kj::Exception&) {
        client_ = nullptr;
        stream_ = nullptr;
        io_.provider->getTimer().afterDelay(50 * kj::MILLISECONDS).wait(io_.waitScope);
      }
    }
    ASSERT_TRUE(session_ != nullptr) << "could not log in to the node";
  }

  void tell_node(const std::string& bytes) {
    auto req = KJ_ASSERT_NONNULL(session_).deliverRequest();
    req.setMessage(as_data(bytes));
    req.send().ignoreResult().detach([](kj::Exception&&) {});
  }

  // Runs the fake for up to `ms` or until `done()`; a heartbeat to the node every 50 ms (so it
  // does not drop its link to a peer it never hears from).
  template <class Done>
  bool run_until(std::uint64_t ms, Done done) {
    GossipMessage hb;
    hb.origin = 2;
    hb.kind = GossipMessage::Kind::kHeartbeat;
    for (std::uint64_t waited = 0; waited < ms; waited += 10) {
      if (done()) return true;
      if (waited % 50 == 0) tell_node(encode_message(hb));
      io_.provider->getTimer().afterDelay(10 * kj::MILLISECONDS).wait(io_.waitScope);
    }
    return done();
  }

  NodeStats stats() {
    std::lock_guard<std::mutex> lock(stats_mutex_);
    return stats_;
  }

  // Of the parts received, how many belong to `transmission` (the window may also hold the parts
  // of a small transmission that went out before the big one, depending on timing).
  std::uint32_t received_of(std::uint64_t transmission) {
    std::uint32_t n = 0;
    for (const DeltaBatch& b : fake_.parts())
      n += b.transmission == transmission;
    return n;
  }

  const ComponentRegistry registry_ = ComponentRegistry::game_defaults();
  kj::AsyncIoContext io_ = kj::setupAsyncIo();
  FakePeer fake_;
  kj::Own<kj::ConnectionReceiver> listener_;
  kj::Own<capnp::TwoPartyServer> server_;
  kj::Promise<void> serving_ = nullptr;
  kj::Own<kj::AsyncIoStream> stream_;
  kj::Own<capnp::TwoPartyClient> client_;
  kj::Maybe<s::ReplicaSession::Client> session_;
  fs::path dir_;
  int node_port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> next_seq_{0};
  std::atomic<int> exit_code_{-1};
  std::mutex stats_mutex_;
  NodeStats stats_;
};

// Found by review: every gossip round of a busy region queued a new full copy of everything the
// peer had not acknowledged behind the in-flight window (up to 256 MiB per peer), so a slow peer
// got the backlog many times over. Now the first transmission's parts beyond the window are all
// that waits, and the next transmission is built once they went out — covering what was
// committed meanwhile, not a copy from 10 ms later.
TEST_F(SlowPeerLink, ManyGossipRoundsToAPeerThatDoesNotAnswerLeaveOneTransmissionsPartsWaiting) {
  start(32680);
  ASSERT_TRUE(run_until(10'000, [&] { return fake_.parts_received() >= 64; }));
  const DeltaBatch first = fake_.parts().back();
  ASSERT_GT(first.parts, 64u) << "the first interval should not fit the window";
  run_until(1'000, [] { return false; });  // 100 ticks, each a group committed
  EXPECT_EQ(fake_.parts_received(), 64u);  // the window, nothing more
  const std::uint32_t before = 64 - received_of(first.transmission);  // of earlier transmissions
  const NodeStats held = stats();
  EXPECT_EQ(held.parts_waiting, first.parts - received_of(first.transmission));
  EXPECT_EQ(held.sends_superseded, 0u);
  const std::uint64_t seq_at_release = next_seq_;
  ASSERT_GT(seq_at_release, first.seq + 20);
  fake_.release();
  ASSERT_TRUE(run_until(10'000, [&] {
    return fake_.parts_received() > before + first.parts;  // the first and a part of the next
  }));
  const std::vector<DeltaBatch> parts = fake_.parts();
  for (std::uint32_t i = 0; i < first.parts; ++i) {  // the first transmission, whole, in order
    EXPECT_EQ(parts[before + i].transmission, first.transmission);
    EXPECT_EQ(parts[before + i].part, i);
  }
  const DeltaBatch& next = parts[before + first.parts];
  EXPECT_EQ(next.transmission, first.transmission + 1);
  EXPECT_GE(next.seq, seq_at_release) << "a stale copy queued while the peer did not answer";
}

// Found by review: an ack (or heartbeat, or digest) to a peer waited behind every delta part
// queued for it — under replicated:k, that peer's players' acks waited with it.
TEST_F(SlowPeerLink, AnAckReachesAPeerWhileDeltaPartsWaitForIt) {
  start(32706);
  ASSERT_TRUE(run_until(10'000, [&] { return fake_.parts_received() >= 64; }));
  // Peer 2 sends the node a group of its own; the node acknowledges it to peer 2.
  MemoryJournal journal;
  struct Captured : Outbox {
    void send(ReplicaId, std::string bytes) override { sent.push_back(std::move(bytes)); }
    std::vector<std::string> sent;
  } out;
  Replica two(ReplicaOptions{2, {1, 2}}, registry_, journal, out);
  ASSERT_TRUE(
      two.write(Key{777, 8},
                [](ComponentValue& v) { return value_as<crdt::GuildMembers>(v).add(2, 777); })
          .ok());
  ASSERT_TRUE(two.commit(0).ok());
  two.gossip(0);
  ASSERT_EQ(out.sent.size(), 1u);
  const std::uint64_t seq = decode_message(out.sent[0]).value().delta.seq;
  tell_node(out.sent[0]);
  auto acked = [&] {
    for (const auto& m : fake_.received) {
      if (m.kind == GossipMessage::Kind::kAck && m.ack == seq) return true;
    }
    return false;
  };
  EXPECT_TRUE(run_until(3'000, acked)) << "the ack never passed the waiting parts";
  EXPECT_EQ(fake_.held.size(), 64u);  // no delta part was answered meanwhile
  EXPECT_GT(stats().parts_waiting, 0u);
}

// Found by review: when a session died, each failing delivery sent the next waiting one onto the
// dead session, which failed in turn — the whole queue drained as failing requests, none counted.
TEST_F(SlowPeerLink, TheEndOfASessionCountsItsDeliveriesInFlightAsFailedAndWhatWaitedAsDropped) {
  start(32732);
  ASSERT_TRUE(run_until(10'000, [&] { return fake_.parts_received() >= 64; }));
  const DeltaBatch first = fake_.parts().back();
  ASSERT_GT(first.parts, 64u);
  run_until(100, [] { return false; });
  ASSERT_EQ(stats().sends_failed, 0u);
  const std::size_t received = fake_.received.size();
  fake_.fail_held();  // every delivery in flight fails
  ASSERT_TRUE(run_until(3'000, [&] { return stats().sends_failed > 0; }));
  const NodeStats after = stats();
  EXPECT_EQ(after.sends_failed, 64u);  // the window, each once
  EXPECT_GE(after.sends_dropped, first.parts - received_of(first.transmission));
  // (parts_waiting is not checked: the node may already have logged in again and queued a new
  // transmission by the time the failures are counted.)
  // Nothing of the failed session's queue went out after the failures.
  for (std::size_t i = received; i < fake_.received.size(); ++i) {
    const GossipMessage& m = fake_.received[i];
    EXPECT_FALSE(m.kind == GossipMessage::Kind::kDelta &&
                 m.delta.transmission == first.transmission)
        << "part " << m.delta.part << " of the failed session's transmission";
  }
}

}  // namespace
}  // namespace worldline::replica
