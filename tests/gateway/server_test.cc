// The gateway end to end over real sockets on loopback: a Beast WebSocket client says hello with a
// signed token, acts, and receives its ack and the authoritative state; forged and expired tokens
// are refused; every class of malformed frame gets its error while the node keeps serving others;
// abuse closes with 1008; a contested item gives one owner and one reject; HTTP on the same port.
#include "gateway/server.h"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include "gateway/region_host.h"
#include "replica/rpc_node.h"
#include "tests/support/event_stream_reader.h"
#include "tests/support/outboxes.h"

namespace worldline::gateway {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace json = boost::json;
using tcp = net::ip::tcp;

const TokenKey kKey{TokenKey::Kind::kHs256, "e2e test secret 42"};

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string token_for(std::uint64_t player, std::int64_t expires_in_s = 3600,
                      const TokenKey& key = kKey) {
  return mint_token(TokenClaims{player, "player", unix_now() + expires_in_s, unix_now()}, key)
      .value();
}

using testing::NullOutbox;

// One region node in-process: replica (in-memory journal), pipeline, host, gateway, and a tick
// thread at 20 Hz doing what `worldline node` does each tick: region tick, commit, publish.
class Node {
 public:
  explicit Node(SessionLimits limits = {},
                const std::function<void(ServerOptions&)>& tune = nullptr,
                HttpHandler http = nullptr) {
    world.watch_changes();
    region::PipelineOptions po;
    po.partition.workers = 2;
    pipeline = std::make_unique<region::RegionPipeline>(po, region::PriorityRules::defaults(),
                                                        rules, world, clock);
    host = std::make_unique<RegionHost>(HostOptions{"eu-west", 20, 60, {0, 0, 0}}, *pipeline, rules,
                                        world, clock);
    ServerOptions so;
    so.region_name = "eu-west";
    so.limits = limits;
    so.key = kKey;
    if (tune) tune(so);
    if (!http) {
      http = [](const HttpRequest& r) {
        if (r.target == "/healthz") return HttpReply{200, "text/plain", "ok\n"};
        if (r.target == "/metrics") return HttpReply{200, "text/plain", "metrics\n"};
        if (r.target.rfind("/admin/", 0) == 0) return HttpReply{200, "text/plain", "admin\n"};
        return HttpReply{404, "text/plain", "not found\n"};
      };
    }
    server = std::make_unique<GatewayServer>(so, *host, std::move(http));
    EXPECT_TRUE(server->start().ok());
    ticker = std::thread([this] {
      std::uint64_t t = 0;
      while (!stop) {
        const auto start = std::chrono::steady_clock::now();
        {
          std::lock_guard<std::mutex> lock(mutex);
          const std::uint64_t now = replica::steady_ms();  // the sessions' clock
          host->tick(++t, now);
          EXPECT_TRUE(world.commit(now).ok());
          host->publish(now);
        }
        std::this_thread::sleep_until(start + std::chrono::milliseconds(50));
      }
    });
  }
  ~Node() {
    stop = true;
    ticker.join();
    server->stop();
  }
  std::uint16_t port() const { return server->port(); }
  template <typename Fn>
  auto with_world(Fn&& fn) {
    std::lock_guard<std::mutex> lock(mutex);
    return fn(world);
  }

  replica::ComponentRegistry registry = replica::ComponentRegistry::game_defaults();
  replica::MemoryJournal journal;
  NullOutbox outbox;
  crdt::SystemClock wall;
  crdt::HlcClock clock{1, wall, 10'000};
  replica::Replica world{replica::ReplicaOptions{1, {1}}, registry, journal, outbox};
  region::GameRules rules{region::GameConfig{}};
  std::unique_ptr<region::RegionPipeline> pipeline;
  std::unique_ptr<RegionHost> host;
  std::unique_ptr<GatewayServer> server;
  std::mutex mutex;
  std::atomic<bool> stop{false};
  std::thread ticker;
};

// A test client: a blocking Beast WebSocket with a read timeout. Under `worldline.capnp` it speaks
// the binary form: send() takes the JSON form of a frame and sends it as a packed ClientMessage,
// read() decodes a ServerMessage and returns its JSON form, so one test reads the same either way.
class Client {
 public:
  // receive_buffer > 0: the socket's SO_RCVBUF, set before connecting (a small one makes a client
  // that stops reading back the node up quickly).
  explicit Client(std::uint16_t port, const std::string& subprotocol = "worldline.json",
                  int receive_buffer = 0) {
    const tcp::endpoint node(net::ip::make_address("127.0.0.1"), port);
    ws_.next_layer().open(node.protocol());
    if (receive_buffer > 0) {
      ws_.next_layer().set_option(net::socket_base::receive_buffer_size(receive_buffer));
    }
    ws_.next_layer().connect(node);
    ws_.set_option(websocket::stream_base::decorator([subprotocol](websocket::request_type& req) {
      if (!subprotocol.empty()) req.set(http::field::sec_websocket_protocol, subprotocol);
    }));
    websocket::response_type res;
    ws_.handshake(res, "127.0.0.1", "/");
    agreed = std::string(res[http::field::sec_websocket_protocol]);
    binary_ = agreed == "worldline.capnp";
  }
  void send(const std::string& text) {
    if (!binary_) {
      send_text(text);
      return;
    }
    ProtocolLimits roomy;
    roomy.max_frame_bytes = 1 << 20;
    const ParseResult frame = parse_client_frame(text, roomy);
    ASSERT_TRUE(std::holds_alternative<ClientFrame>(frame)) << text;
    send_binary(encode_client_capnp(std::get<ClientFrame>(frame)));
  }
  void send_text(const std::string& text) {
    ws_.text(true);
    ws_.write(net::buffer(text));
  }
  // whole: as one frame; else in fragments of Beast's write buffer (4 KiB).
  void send_text_ec(const std::string& text, bool whole, beast::error_code& ec) {
    ws_.text(true);
    ws_.auto_fragment(!whole);
    ws_.write(net::buffer(text), ec);
    ws_.auto_fragment(true);
  }
  void send_binary(const std::string& bytes) {
    ws_.binary(true);
    ws_.write(net::buffer(bytes));
  }
  // The next frame as JSON; a null value when the server closed the connection.
  json::value read() {
    beast::flat_buffer buffer;
    beast::error_code ec;
    ws_.read(buffer, ec);
    if (ec) {
      closed_with = ws_.reason().code;
      close_reason = std::string(ws_.reason().reason.data(), ws_.reason().reason.size());
      read_error = ec;
      return nullptr;
    }
    const std::string bytes = beast::buffers_to_string(buffer.data());
    EXPECT_EQ(ws_.got_binary(), binary_) << "a frame of the wrong kind for " << agreed;
    if (!binary_) return json::parse(bytes);
    auto decoded = decode_server_capnp(bytes);
    if (auto* why = std::get_if<std::string>(&decoded)) {
      ADD_FAILURE() << *why;
      return nullptr;
    }
    return json::parse(encode(WireFormat::kJson, std::get<ServerFrame>(decoded)));
  }
  // Reads frames until `pred` holds (returns that frame) or the connection closes (null).
  json::value read_until(const std::function<bool(const json::value&)>& pred, int max = 400) {
    for (int i = 0; i < max; ++i) {
      json::value v = read();
      if (getenv("E2E_DEBUG")) std::fprintf(stderr, "frame: %s\n", json::serialize(v).c_str());
      if (v.is_null() || pred(v)) return v;
    }
    ADD_FAILURE() << "no matching frame in " << max;
    return nullptr;
  }
  json::value hello(std::uint64_t player) {
    send(R"({"type":"hello","token":")" + token_for(player) + R"("})");
    return read();
  }
  json::value resume(std::uint64_t player, std::uint64_t last_ack) {
    send(R"({"type":"hello","token":")" + token_for(player) + R"(","resume":{"last_ack":)" +
         std::to_string(last_ack) + "}}");
    return read();
  }

  std::string agreed;
  std::uint16_t closed_with = 0;
  std::string close_reason;
  beast::error_code read_error;

 private:
  bool binary_ = false;
  net::io_context ioc_;
  websocket::stream<tcp::socket> ws_{ioc_};
};

bool is_type(const json::value& v, const char* type) {
  return v.is_object() && v.as_object().contains("type") && v.at("type").as_string() == type;
}

// The same conversation in both wire forms.
class GatewayBothForms : public ::testing::TestWithParam<std::string> {};

TEST_P(GatewayBothForms, AClientActsAndReceivesItsAckAndTheAuthoritativeState) {
  Node node;
  Client c(node.port(), GetParam());
  EXPECT_EQ(c.agreed, GetParam());
  const json::value welcome = c.hello(5);
  ASSERT_TRUE(is_type(welcome, "welcome")) << welcome;
  EXPECT_EQ(welcome.at("player").as_int64(), 5);
  EXPECT_EQ(welcome.at("region").as_string(), "eu-west");
  const std::string t = std::to_string(unix_now() * 1000);  // the client's clock, Unix ms
  c.send(R"({"type":"action","seq":1,"kind":"move","t":)" + t + R"(,"args":{"x":3,"y":0,"z":4}})");
  const json::value state = c.read_until(
      [](const json::value& v) { return is_type(v, "state") && v.at("ack").as_int64() >= 1; });
  ASSERT_FALSE(state.is_null());
  EXPECT_EQ(state.at("ack").as_int64(), 1);
  const json::array& entities = state.at("entities").as_array();
  ASSERT_EQ(entities.size(), 1u);
  EXPECT_EQ(entities[0].at("id").as_int64(), 5);
  EXPECT_EQ(entities[0].at("x").as_double(), 3.0);
  EXPECT_EQ(entities[0].at("z").as_double(), 4.0);
  EXPECT_EQ(entities[0].at("health").as_int64(), 100);
  // A move beyond what one move may travel is clamped (the movement budget: one move goes at most
  // move_max_step_ticks = 3 ticks' worth of max_speed_per_tick = 10, and the credit of the ticks
  // since the first move plus the lead covers that): the authoritative state corrects the
  // prediction.
  c.send(R"({"type":"action","seq":2,"kind":"move","t":)" + t +
         R"(,"args":{"x":103,"y":0,"z":4}})");

  const json::value corrected = c.read_until(
      [](const json::value& v) { return is_type(v, "state") && v.at("ack").as_int64() >= 2; });
  EXPECT_EQ(corrected.at("entities").at(0).at("x").as_double(), 33.0);
  // A client clock a day off is refused (ingress: clock_skew), with the reason.
  c.send(R"({"type":"action","seq":3,"kind":"move","t":1,"args":{"x":0,"y":0,"z":0}})");
  const json::value skew = c.read_until([](const json::value& v) { return is_type(v, "reject"); });
  EXPECT_EQ(skew.at("seq").as_int64(), 3);
  EXPECT_EQ(skew.at("reason").as_string(), "clock_skew");
  c.send(R"({"type":"ping","t":77})");
  const json::value pong = c.read_until([](const json::value& v) { return is_type(v, "pong"); });
  EXPECT_EQ(pong.at("t").as_int64(), 77);
  EXPECT_EQ(
      node.with_world([](replica::Replica& w) { return region::GameRules::position(w, 5)->x; }),
      33.0);
  // Items: a pickup of an unknown id or of an item out of reach is refused by name; one in reach
  // is granted, and the state frames show the item, marked, with its owner.
  node.with_world([](replica::Replica& w) {
    region::place_item(w, 900'002, {100, 0, 100});
    region::place_item(w, 900'003, {34, 0, 4});
    return 0;
  });
  c.send(R"({"type":"action","seq":4,"kind":"pickup","args":{"target":424242}})");
  c.send(R"({"type":"action","seq":5,"kind":"pickup","args":{"target":900002}})");
  c.send(R"({"type":"action","seq":6,"kind":"pickup","args":{"target":900003}})");
  std::map<std::int64_t, std::string> reasons;
  const json::value picked = c.read_until([&](const json::value& v) {
    if (is_type(v, "reject")) reasons[v.at("seq").as_int64()] = v.at("reason").as_string();
    return is_type(v, "state") && v.at("ack").as_int64() >= 6;
  });
  EXPECT_EQ(reasons,
            (std::map<std::int64_t, std::string>{{4, "no_such_item"}, {5, "out_of_range"}}));
  bool seen = false;
  for (const json::value& e : picked.at("entities").as_array()) {
    if (e.at("id").as_int64() != 900'003) continue;
    seen = true;
    EXPECT_TRUE(e.at("item").as_bool()) << e;
    EXPECT_EQ(e.at("owner").as_int64(), 5) << e;
  }
  EXPECT_TRUE(seen) << picked;
}

INSTANTIATE_TEST_SUITE_P(Subprotocols, GatewayBothForms,
                         ::testing::Values("worldline.json", "worldline.capnp"),
                         [](const auto& info) {
                           return info.param == "worldline.json" ? std::string("Json")
                                                                 : std::string("Capnp");
                         });

TEST(Gateway, ForgedExpiredAndMissingTokensAreRefusedAndTheSessionClosed) {
  Node node;
  struct Case {
    std::string hello;
    const char* why;
  };
  const TokenKey other{TokenKey::Kind::kHs256, "not the cluster's secret"};
  const Case cases[] = {
      {R"({"type":"hello","token":")" + token_for(5, 3600, other) + R"("})", "bad signature"},
      {R"({"type":"hello","token":")" + token_for(5, -3600) + R"("})", "expired"},
      {R"({"type":"hello","token":"not.a.jwt"})", "token"},
      {R"({"type":"hello"})", "token"},
  };
  for (const Case& k : cases) {
    Client c(node.port());
    c.send(k.hello);
    const json::value e = c.read();
    ASSERT_TRUE(is_type(e, "error")) << k.why;
    EXPECT_EQ(e.at("code").as_int64(), 4011) << k.why;
    EXPECT_NE(std::string(e.at("message").as_string()).find(k.why), std::string::npos)
        << e.at("message").as_string();
    EXPECT_TRUE(c.read().is_null());  // then the close
    EXPECT_EQ(c.closed_with, 1008) << k.why;
  }
}

TEST(Gateway, EveryMalformedFrameGetsItsErrorAndTheNodeKeepsServingOthers) {
  SessionLimits limits;
  limits.protocol.max_frame_bytes = 512;
  Node node(limits);
  Client bad(node.port());
  bad.send(R"({"type":"action","seq":1,"kind":"move"})");  // before hello
  EXPECT_EQ(bad.read().at("code").as_int64(), 4010);
  ASSERT_TRUE(is_type(bad.hello(6), "welcome"));
  struct Case {
    std::string frame;
    int code;
  };
  std::string deep = R"({"type":"ping","x":)" + std::string(30, '[') + std::string(30, ']') + "}";
  const Case cases[] = {
      {"{not json", 4002},
      {deep, 4003},
      {R"({"type":"format_disk"})", 4004},
      {R"({"type":"action","seq":"one","kind":"move"})", 4005},
      {R"({"type":"ping","pad":")" + std::string(600, 'x') + R"("})", 4001},
      {R"({"type":"hello","token":")" + token_for(6) + R"("})", 4012},
  };
  for (const Case& k : cases) {
    bad.send(k.frame);
    const json::value e = bad.read_until([](const json::value& v) { return is_type(v, "error"); });
    EXPECT_EQ(e.at("code").as_int64(), k.code) << k.frame.substr(0, 60);
  }
  // A bad field of an action whose seq could be read: the error carries the seq (docs/protocol.md),
  // so the client can drop that input from its prediction; seq 0 is a bad field, not a reject.
  bad.send(R"({"type":"action","seq":9,"kind":"move","args":{"x":"1"}})");
  const json::value e9 = bad.read_until([](const json::value& v) { return is_type(v, "error"); });
  EXPECT_EQ(e9.at("code").as_int64(), 4005);
  ASSERT_TRUE(e9.as_object().contains("seq")) << e9;
  EXPECT_EQ(e9.at("seq").as_int64(), 9);
  bad.send(R"({"type":"action","seq":0,"kind":"move"})");
  const json::value e0 = bad.read_until([](const json::value& v) { return is_type(v, "error"); });
  EXPECT_EQ(e0.at("code").as_int64(), 4005);
  EXPECT_FALSE(e0.as_object().contains("seq")) << e0;
  bad.send_binary(std::string("\x00\x01\x02", 3));
  EXPECT_EQ(bad.read_until([](const json::value& v) { return is_type(v, "error"); })
                .at("code")
                .as_int64(),
            4006);  // a binary frame under worldline.json
  // Out-of-world coordinates and unknown kinds are refused by ingress, with the reason.
  bad.send(R"({"type":"action","seq":1,"kind":"move","args":{"x":1e300,"z":0}})");
  bad.send(R"({"type":"action","seq":2,"kind":"teleport"})");
  const json::value r1 = bad.read_until([](const json::value& v) { return is_type(v, "reject"); });
  EXPECT_EQ(r1.at("seq").as_int64(), 1);
  EXPECT_EQ(r1.at("reason").as_string(), "out_of_world");
  const json::value r2 = bad.read_until([](const json::value& v) { return is_type(v, "reject"); });
  EXPECT_EQ(r2.at("seq").as_int64(), 2);
  EXPECT_EQ(r2.at("reason").as_string(), "unknown_kind");

  // The bad client's session lives on, and so does everyone else's.
  Client good(node.port());
  ASSERT_TRUE(is_type(good.hello(7), "welcome"));
  good.send(R"({"type":"action","seq":1,"kind":"chat","args":{"text":"hi"}})");
  const json::value s = good.read_until(
      [](const json::value& v) { return is_type(v, "state") && v.at("ack").as_int64() == 1; });
  EXPECT_FALSE(s.is_null());
  bad.send(R"({"type":"ping","t":1})");
  EXPECT_FALSE(bad.read_until([](const json::value& v) { return is_type(v, "pong"); }).is_null());
}

TEST(Gateway, RepeatedAbuseClosesTheSessionWithPolicyViolation) {
  SessionLimits limits;
  limits.actions_per_s = 1;
  limits.action_burst = 3;
  limits.max_violations = 4;
  Node node(limits);
  Client c(node.port());
  ASSERT_TRUE(is_type(c.hello(8), "welcome"));
  for (int seq = 1; seq <= 10; ++seq) {
    c.send(R"({"type":"action","seq":)" + std::to_string(seq) + R"(,"kind":"emote"})");
  }
  int rate_limited = 0;
  for (;;) {
    const json::value v = c.read();
    if (v.is_null()) break;
    if (is_type(v, "reject") && v.at("reason").as_string() == "rate_limited") ++rate_limited;
  }
  EXPECT_EQ(rate_limited, 4);  // the 4th over-limit action is the last straw
  EXPECT_EQ(c.closed_with, 1008);
}

TEST(Gateway, TwoPlayersGrabbingOneItemGetOneOwnerAndOneReject) {
  Node node;
  node.with_world([](replica::Replica& w) {
    region::place_item(w, 900'001, {1, 0, 1});  // where both spawn: the origin
    return 0;
  });
  Client a(node.port()), b(node.port());
  ASSERT_TRUE(is_type(a.hello(11), "welcome"));
  ASSERT_TRUE(is_type(b.hello(12), "welcome"));
  // Both sessions must be attached before the grabs, or one could arrive ticks earlier.
  for (Client* c : {&a, &b}) {
    ASSERT_FALSE(c->read_until([](const json::value& v) { return is_type(v, "state"); }).is_null());
  }
  a.send(R"({"type":"action","seq":1,"kind":"pickup","args":{"target":900001}})");
  b.send(R"({"type":"action","seq":1,"kind":"pickup","args":{"target":900001}})");
  int rejects = 0;
  for (Client* c : {&a, &b}) {
    bool rejected = false;
    c->read_until([&](const json::value& v) {
      if (is_type(v, "reject")) {
        rejected = true;
        EXPECT_NE(std::string(v.at("detail").as_string()).find("already claimed"),
                  std::string::npos);
      }
      return is_type(v, "state") && v.at("ack").as_int64() >= 1;
    });
    rejects += rejected;
  }
  EXPECT_EQ(rejects, 1);
  const auto owner = node.with_world([](replica::Replica& w) {
    return std::get<crdt::UniqueItemOwner>(*w.store().get({900001, 5})).owner();
  });
  ASSERT_TRUE(owner.has_value());
  EXPECT_TRUE(*owner == 11u || *owner == 12u);
}

// One HTTP GET on loopback: the status and the body.
std::pair<unsigned, std::string> http_get(std::uint16_t port, const std::string& target) {
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  tcp::resolver resolver(ioc);
  stream.expires_after(std::chrono::seconds(10));
  stream.connect(resolver.resolve("127.0.0.1", std::to_string(port)));
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "127.0.0.1");
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  return {res.result_int(), res.body()};
}

// A handler that answers later leaves its I/O thread free: with one I/O thread, a request held
// by another thread does not delay a second one; the held one gets the first of two answers.
TEST(Gateway, AnAnswerGivenLaterFromAnotherThreadArrivesAndTheIoThreadServesOthersMeanwhile) {
  std::mutex m;
  std::condition_variable cv;
  std::vector<HttpResponder> held;
  Node node(
      {}, [](ServerOptions& o) { o.io_threads = 1; },
      [&](const HttpRequest& r) {
        if (r.target != "/held") return HttpReply{200, "text/plain", "quick\n"};
        std::lock_guard<std::mutex> lock(m);
        held.push_back(r.responder);
        cv.notify_all();
        return HttpReply::later();
      });
  using Reply = std::pair<unsigned, std::string>;
  auto slow = std::async(std::launch::async, [&] { return http_get(node.port(), "/held"); });
  {
    std::unique_lock<std::mutex> lock(m);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return !held.empty(); }));
  }
  EXPECT_EQ(http_get(node.port(), "/quick"), Reply(200, "quick\n"));  // while /held waits
  // One I/O thread: /held's handler had returned (and was counted) before /quick was read.
  EXPECT_EQ(node.server->stats().http_pending, 1u);
  EXPECT_EQ(slow.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);
  std::thread answerer([&] {
    std::lock_guard<std::mutex> lock(m);
    EXPECT_TRUE(held[0].answer(HttpReply{202, "text/plain", "later\n"}));
    EXPECT_FALSE(held[0].answer(HttpReply{500, "text/plain", "second\n"}));
  });
  answerer.join();
  EXPECT_EQ(slow.get(), Reply(202, "later\n"));
  // Uncounted when its write completes, which the client may see a moment before.
  for (int i = 0; i < 200 && node.server->stats().http_pending != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(node.server->stats().http_pending, 0u);
  EXPECT_EQ(node.server->stats().http_timeouts, 0u);
}

// A request the handler never answers gets 503 after http_answer_timeout_ms; one whose every
// responder is dropped unanswered has its connection closed — neither hangs the client.
TEST(Gateway, AnUnansweredRequestGets503AfterTheTimeoutAndADroppedOneIsClosed) {
  std::mutex m;
  std::vector<HttpResponder> kept;
  Node node(
      {},
      [](ServerOptions& o) {
        o.io_threads = 1;
        o.http_answer_timeout_ms = 300;
      },
      [&](const HttpRequest& r) {
        std::lock_guard<std::mutex> lock(m);
        if (r.target == "/kept") kept.push_back(r.responder);
        return HttpReply::later();  // "/dropped": no copy kept
      });
  const auto started = std::chrono::steady_clock::now();
  const auto timed_out = http_get(node.port(), "/kept");
  EXPECT_EQ(timed_out.first, 503u);
  EXPECT_EQ(timed_out.second,
            "no answer within 300 ms: the node's loop is busy or stuck (a write may still be "
            "applied: read before you send it again)\n");
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(300));
  EXPECT_EQ(node.server->stats().http_timeouts, 1u);
  {
    std::lock_guard<std::mutex> lock(m);
    ASSERT_EQ(kept.size(), 1u);
    EXPECT_TRUE(kept[0].answered());
    EXPECT_FALSE(kept[0].answer(HttpReply{200, "text/plain", "too late\n"}));
  }
  // Dropped: the read ends with the connection (end of stream), not with a response.
  EXPECT_THROW(http_get(node.port(), "/dropped"), beast::system_error);
  EXPECT_EQ(node.server->stats().http_timeouts, 1u);
  for (int i = 0; i < 200 && node.server->stats().http_pending != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(node.server->stats().http_pending, 0u);
}

// An answer that arrives after the server stopped goes nowhere (and touches nothing freed).
TEST(Gateway, AnAnswerAfterTheServerStoppedIsIgnored) {
  std::mutex m;
  std::vector<HttpResponder> held;
  HttpResponder late;
  std::future<unsigned> client;
  {
    Node node(
        {}, [](ServerOptions& o) { o.http_answer_timeout_ms = 60'000; },
        [&](const HttpRequest& r) {
          std::lock_guard<std::mutex> lock(m);
          held.push_back(r.responder);
          return HttpReply::later();
        });
    client = std::async(std::launch::async, [port = node.port()] {
      try {
        return http_get(port, "/held").first;
      } catch (const beast::system_error&) {
        return 0u;  // the server went away
      }
    });
    for (int i = 0; i < 1000; ++i) {
      {
        std::lock_guard<std::mutex> lock(m);
        if (!held.empty()) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::lock_guard<std::mutex> lock(m);
    ASSERT_EQ(held.size(), 1u);
    late = held[0];
    held.clear();
    // stop() waits up to 2 s for the answer that never comes; ~Node then frees the server.
    node.server->stop();
  }
  EXPECT_EQ(client.get(), 0u);  // the connection ended with the server, unanswered
  EXPECT_TRUE(late.answer(HttpReply{200, "text/plain", "after\n"}));  // first, and nowhere
}

TEST(Gateway, HttpOnTheSamePortAndAnUnsupportedSubprotocolIsRefused) {
  Node node;
  EXPECT_EQ(node.server->admin_port(), 0u);
  using Reply = std::pair<unsigned, std::string>;
  EXPECT_EQ(http_get(node.port(), "/healthz"), Reply(200, "ok\n"));
  // Without an admin listener the players' port serves /metrics and /admin/ too, as it always did.
  EXPECT_EQ(http_get(node.port(), "/metrics"), Reply(200, "metrics\n"));
  EXPECT_EQ(http_get(node.port(), "/admin/rules"), Reply(200, "admin\n"));
  EXPECT_THROW(Client(node.port(), "worldline.xml"), beast::system_error);
  // The client's first choice that the node serves wins.
  EXPECT_EQ(Client(node.port(), "worldline.xml, worldline.capnp, worldline.json").agreed,
            "worldline.capnp");
  EXPECT_EQ(Client(node.port(), "worldline.json,worldline.capnp").agreed, "worldline.json");
  EXPECT_EQ(Client(node.port(), "").agreed, "");  // none named: JSON, no header
}

// gateway.admin_listen: /metrics, /admin/... and /dashboard are served on the operators' port only;
// the players' port answers 404 saying where they went; /healthz on both; players connect only to
// theirs.
TEST(Gateway, AnAdminListenerServesMetricsAndAdminAndThePlayersPortSaysWhereTheyWent) {
  Node node({}, [](ServerOptions& o) { o.admin_listen = "127.0.0.1:0"; });
  const std::uint16_t admin = node.server->admin_port();
  ASSERT_NE(admin, 0u);
  ASSERT_NE(admin, node.port());
  using Reply = std::pair<unsigned, std::string>;
  EXPECT_EQ(http_get(admin, "/metrics"), Reply(200, "metrics\n"));
  EXPECT_EQ(http_get(admin, "/admin/rules"), Reply(200, "admin\n"));
  EXPECT_EQ(http_get(admin, "/healthz"), Reply(200, "ok\n"));
  EXPECT_EQ(http_get(node.port(), "/healthz"), Reply(200, "ok\n"));
  const std::string moved =
      "not here: /metrics, /admin/... and /dashboard moved to the admin listener "
      "(gateway.admin_listen, 127.0.0.1:" +
      std::to_string(admin) + ")\n";
  for (const char* target :
       {"/metrics", "/metrics?x=1", "/admin/rules", "/admin", "/dashboard", "/dashboard/feed"}) {
    EXPECT_EQ(http_get(node.port(), target), Reply(404, moved)) << target;
  }
  EXPECT_EQ(http_get(node.port(), "/nothing").first, 404u);
  // Players connect to their port; the admin listener refuses the upgrade.
  Client player(node.port());
  EXPECT_TRUE(is_type(player.hello(51), "welcome"));
  EXPECT_THROW(Client(admin, "worldline.json"), beast::system_error);
}

using testing::EventStreamReader;

// HttpReply::stream: the head says text/event-stream; the feed's message at connection and every
// newer one arrive as numbered events, a message of several lines as several data lines; a
// second stream over max_event_streams gets 503; a closed stream is counted down and its place
// serves the next; stop() ends the streams still open.
TEST(Gateway, AnEventStreamSendsTheFeedsNewestMessagesAndIsBounded) {
  auto feed = std::make_shared<EventFeed>();
  Node node(
      {},
      [](ServerOptions& o) {
        o.max_event_streams = 1;
        o.event_stream_poll_ms = 20;
      },
      [feed](const HttpRequest& r) {
        if (r.target == "/feed") return HttpReply::stream(feed);
        return HttpReply{404, "text/plain", "not found\n"};
      });
  feed->publish("{\"n\":1}");
  EventStreamReader reader(node.port(), "/feed");
  EXPECT_EQ(reader.head.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << reader.head;
  EXPECT_NE(reader.head.find("Content-Type: text/event-stream\r\n"), std::string::npos);
  EXPECT_EQ(reader.next(), "id: 1\ndata: {\"n\":1}\n\n");
  feed->publish("two\nlines");
  EXPECT_EQ(reader.next(), "id: 2\ndata: two\ndata: lines\n\n");
  EXPECT_EQ(node.server->stats().event_streams, 1u);

  using Reply = std::pair<unsigned, std::string>;
  EXPECT_EQ(http_get(node.port(), "/feed"),
            Reply(503,
                  "too many event streams open (1): close one, or poll the JSON route "
                  "instead\n"));
  reader.close();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (node.server->stats().event_streams != 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(node.server->stats().event_streams, 0u);
  EventStreamReader again(node.port(), "/feed");
  EXPECT_EQ(again.next(), "id: 2\ndata: two\ndata: lines\n\n");
  node.server->stop();  // with the stream open: returns, and the stream is closed
  EXPECT_EQ(node.server->stats().event_streams, 0u);
}

// A handler that answers later may answer with a stream too; the first event goes with the head
// (not at the next poll, a minute away here); stop() closes a stream without waiting for its poll.
TEST(Gateway, AnEventStreamAnsweredLaterStreamsAndStopClosesItAtOnce) {
  auto feed = std::make_shared<EventFeed>();
  std::mutex m;
  std::vector<HttpResponder> held;
  Node node(
      {}, [](ServerOptions& o) { o.event_stream_poll_ms = 60'000; },
      [&](const HttpRequest& r) {
        std::lock_guard<std::mutex> lock(m);
        held.push_back(r.responder);
        return HttpReply::later();
      });
  feed->publish("{\"n\":7}");
  std::thread answer([&] {
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard<std::mutex> lock(m);
        if (!held.empty()) {
          EXPECT_TRUE(held.front().answer(HttpReply::stream(feed)));
          return;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  EventStreamReader reader(node.port(), "/feed");
  answer.join();
  EXPECT_EQ(reader.head.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << reader.head;
  EXPECT_EQ(reader.next(), "id: 1\ndata: {\"n\":7}\n\n");
  EXPECT_EQ(node.server->stats().event_streams, 1u);
  node.server->stop();  // the stream is closed, not left to the io_context's destruction
  EXPECT_EQ(node.server->stats().event_streams, 0u);
}

// An address that is not ip:port, or one already taken, stops the start with the field named.
TEST(Gateway, ABadOrTakenAdminAddressFailsTheStartNamingTheField) {
  EXPECT_TRUE(check_listen_address("127.0.0.1:9100").ok());
  EXPECT_TRUE(check_listen_address("[::1]:0").ok());
  for (const char* bad : {"localhost:9100", "127.0.0.1", "127.0.0.1:99999", "127.0.0.1:x", ":1"}) {
    EXPECT_FALSE(check_listen_address(bad).ok()) << bad;
  }
  Node taken;  // its players' port is the address the admin listener asks for
  for (const std::string& address :
       {std::string("localhost:9100"), "127.0.0.1:" + std::to_string(taken.port())}) {
    ServerOptions o;
    o.key = kKey;
    o.admin_listen = address;
    GatewayServer server(o, *taken.host, nullptr);
    const auto started = server.start();
    ASSERT_FALSE(started.ok()) << address;
    EXPECT_EQ(started.error().message.rfind("gateway.admin_listen: ", 0), 0u)
        << started.error().message;
    EXPECT_NE(started.error().message.find(address), std::string::npos) << started.error().message;
  }
}

TEST(Gateway, MalformedBinaryFramesGetTheirErrorsAndTheCapnpSessionLivesOn) {
  Node node;
  Client c(node.port(), "worldline.capnp");
  ASSERT_TRUE(is_type(c.hello(21), "welcome"));
  struct Case {
    std::string bytes;
    int code;
  };
  std::string bomb("\x40\x01", 2);  // a segment claiming 64 Ki words, then 64 Ki zero words
  for (int i = 0; i < 256; ++i)
    bomb += std::string("\x00\xff", 2);
  const Case cases[] = {
      {std::string("\x00\x01\x02", 3), 4007},
      {bomb, 4007},
      {std::string(20000, '\x11'), 4001},
  };
  for (const Case& k : cases) {
    c.send_binary(k.bytes);
    const json::value e = c.read_until([](const json::value& v) { return is_type(v, "error"); });
    EXPECT_EQ(e.at("code").as_int64(), k.code) << k.bytes.size() << " bytes";
  }
  c.send_text(R"({"type":"ping","t":1})");  // a text frame under worldline.capnp
  EXPECT_EQ(
      c.read_until([](const json::value& v) { return is_type(v, "error"); }).at("code").as_int64(),
      4006);
  c.send(R"({"type":"action","seq":1,"kind":"move","args":{"x":1e300,"z":0}})");
  const json::value r = c.read_until([](const json::value& v) { return is_type(v, "reject"); });
  EXPECT_EQ(r.at("seq").as_int64(), 1);
  EXPECT_EQ(r.at("reason").as_string(), "out_of_world");
  c.send(R"({"type":"ping","t":9})");
  EXPECT_EQ(
      c.read_until([](const json::value& v) { return is_type(v, "pong"); }).at("t").as_int64(), 9);
}

// A client that stops reading (while it keeps sending pings) backs the node's writes up: it is
// told `slow_consumer` after the frame being written and closed with 1008. The frame in flight is
// never freed under the write (the old code cleared the queue under it: heap-use-after-free under
// ASan, other buffers' bytes on the wire in a release build, and the error frame never sent).
TEST(Gateway, AClientThatStopsReadingIsToldItIsASlowConsumerAndClosed) {
  SessionLimits limits;
  limits.bytes_per_s = limits.byte_burst = 1e9;
  Node node(limits, [](ServerOptions& o) {
    o.max_unread_ms = 300;
    o.max_unread_bytes = 256 * 1024;
    o.socket_send_buffer = 16 * 1024;  // not the autotuned megabytes: the queue backs up soon
  });
  Client c(node.port(), "worldline.json", /*receive_buffer=*/4096);
  ASSERT_TRUE(is_type(c.hello(31), "welcome"));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  std::uint64_t sent = 0;
  while (node.server->stats().slow_consumers == 0 && std::chrono::steady_clock::now() < deadline) {
    // Paced, so the node's socket buffers fill while its queue is short: the cut then comes with
    // a write stuck in flight (the buffer the old code freed under it).
    c.send(R"({"type":"ping","t":)" + std::to_string(++sent) + "}");
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  ASSERT_EQ(node.server->stats().slow_consumers, 1u) << sent << " pings sent";
  // Now read everything: frames as the node wrote them (pongs in order, no stray bytes), then the
  // error that explains, then the close.
  std::uint64_t last_pong = 0;
  json::value last;
  for (;;) {
    const json::value v = c.read();
    if (v.is_null()) break;
    if (is_type(v, "pong")) {
      EXPECT_GT(v.at("t").as_int64(), static_cast<std::int64_t>(last_pong));
      last_pong = static_cast<std::uint64_t>(v.at("t").as_int64());
    } else {
      ASSERT_TRUE(is_type(v, "state") || is_type(v, "error")) << v;
    }
    last = v;
  }
  ASSERT_TRUE(is_type(last, "error")) << last;
  EXPECT_EQ(last.at("code").as_int64(), 4030);
  EXPECT_EQ(last.at("name").as_string(), "slow_consumer");
  EXPECT_EQ(c.closed_with, 1008);
  EXPECT_LT(last_pong, sent);  // the frames still queued at the cut were dropped
}

// A client that reads is never cut by a burst of replies, however many frames at once: here a
// thousand pongs (the old limit of 64 queued frames cut this session in most runs).
TEST(Gateway, AClientThatReadsIsNotCutByABurstOfReplies) {
  SessionLimits limits;
  limits.bytes_per_s = limits.byte_burst = 1e9;
  Node node(limits);
  Client c(node.port());
  ASSERT_TRUE(is_type(c.hello(32), "welcome"));
  constexpr int kPings = 1000;
  for (int i = 1; i <= kPings; ++i)
    c.send(R"({"type":"ping","t":)" + std::to_string(i) + "}");
  int pongs = 0;
  const json::value last = c.read_until(
      [&](const json::value& v) {
        EXPECT_FALSE(is_type(v, "error")) << v;
        pongs += is_type(v, "pong");
        return is_type(v, "pong") && v.at("t").as_int64() == kPings;
      },
      5000);
  ASSERT_FALSE(last.is_null()) << "closed with " << c.closed_with;
  EXPECT_EQ(pongs, kPings);
  EXPECT_EQ(node.server->stats().slow_consumers, 0u);
}

// The documented resume procedure: reconnect and resend what was not seen acknowledged. Here all
// 100 actions were already applied, so one tick answers them with 100 `duplicate` rejects at once —
// and the session lives on (the old frame-count limit cut it after a few dozen).
TEST(Gateway, ResendingAHundredAppliedActionsOnResumeGetsAHundredDuplicatesAndTheSessionLives) {
  // 200 actions of one player in about a second: the player's budget (shared by its sessions, not
  // refilled by the reconnect) must allow them, or the resends are rate_limited, not duplicates.
  SessionLimits limits;
  limits.action_burst = 250;
  Node node(limits);
  constexpr int kActions = 100;
  auto act = [](Client& c, int seq) {
    c.send(R"({"type":"action","seq":)" + std::to_string(seq) +
           R"(,"kind":"chat","args":{"text":"hi"}})");
  };
  {
    Client first(node.port());
    ASSERT_TRUE(is_type(first.hello(33), "welcome"));
    for (int seq = 1; seq <= kActions; ++seq)
      act(first, seq);
    ASSERT_FALSE(first
                     .read_until([](const json::value& v) {
                       return is_type(v, "state") && v.at("ack").as_int64() == kActions;
                     })
                     .is_null());
  }
  Client again(node.port());
  ASSERT_TRUE(is_type(again.resume(33, 0), "welcome"));
  for (int seq = 1; seq <= kActions; ++seq)
    act(again, seq);
  std::vector<std::int64_t> duplicates;
  for (;;) {
    const json::value v = again.read();
    ASSERT_FALSE(v.is_null()) << "closed with " << again.closed_with << " after "
                              << duplicates.size() << " duplicates";
    ASSERT_FALSE(is_type(v, "error")) << v;
    if (is_type(v, "reject")) {
      EXPECT_EQ(v.at("reason").as_string(), "duplicate") << v;
      duplicates.push_back(v.at("seq").as_int64());
    }
    if (duplicates.size() == kActions) break;
  }
  for (int i = 0; i < kActions; ++i)
    EXPECT_EQ(duplicates[static_cast<std::size_t>(i)], i + 1);
  again.send(R"({"type":"ping","t":5})");
  EXPECT_EQ(
      again.read_until([](const json::value& v) { return is_type(v, "pong"); }).at("t").as_int64(),
      5);
  EXPECT_EQ(node.server->stats().slow_consumers, 0u);
}

// A message over what the node reads at all (4 × max_frame_bytes) ends the session with a
// WebSocket close 1009 (message too big) and a reason, RFC 6455 §7.4.1 — just over the limit and
// far over it, as one frame or in fragments. Far over it used to end in a reset (1006): Beast's
// own refusal closed the socket while the client was still writing what the node never read.
TEST(Gateway, AMessageOverTheLimitIsClosedWith1009AndAReason) {
  SessionLimits limits;
  limits.bytes_per_s = limits.byte_burst = 1e9;
  Node node(limits);
  const std::size_t limit = 4 * limits.protocol.max_frame_bytes;
  for (const bool whole : {true, false}) {
    for (const std::size_t size : {limit + 1, std::size_t{4} << 20}) {
      const std::string what = std::to_string(size) + " bytes" + (whole ? "" : " in fragments");
      Client c(node.port());
      ASSERT_TRUE(is_type(c.hello(41), "welcome"));
      beast::error_code written;  // a failed write is what the old code did: say so
      c.send_text_ec(std::string(size, 'x'), whole, written);
      EXPECT_FALSE(written) << what << ": " << written.message();
      for (int i = 0; i < 100; ++i) {
        const json::value v = c.read();
        if (v.is_null()) break;
        ASSERT_TRUE(is_type(v, "state")) << v;  // the tick's frames until the close
      }
      EXPECT_EQ(c.read_error, websocket::error::closed) << what << ": " << c.read_error.message();
      EXPECT_EQ(c.closed_with, 1009) << what;
      EXPECT_EQ(c.close_reason, "frame too large: over 65536 bytes") << what;
    }
  }
  // A message at the limit is read (and refused by the protocol: frame_too_large, 4001), and
  // the session lives on.
  Client c(node.port());
  ASSERT_TRUE(is_type(c.hello(42), "welcome"));
  beast::error_code written;
  c.send_text_ec(std::string(limit, 'x'), true, written);
  ASSERT_FALSE(written);
  EXPECT_EQ(
      c.read_until([](const json::value& v) { return is_type(v, "error"); }).at("code").as_int64(),
      4001);
  c.send(R"({"type":"ping","t":3})");
  EXPECT_EQ(
      c.read_until([](const json::value& v) { return is_type(v, "pong"); }).at("t").as_int64(), 3);
}

}  // namespace
}  // namespace worldline::gateway
