// The JSON client protocol: exact parses of every client frame, one test per class of malformed
// frame with the error code it must get, and server frames that read back as written.
#include "gateway/protocol.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <limits>
#include <string>

namespace worldline::gateway {
namespace {

ClientFrame ok(std::string_view text) {
  ParseResult r = parse_client_frame(text, ProtocolLimits{});
  if (auto* e = std::get_if<ProtocolError>(&r)) {
    ADD_FAILURE() << "refused: " << e->message;
    return PingFrame{};
  }
  return std::get<ClientFrame>(r);
}

ProtocolError refused(std::string_view text, ProtocolLimits limits = {}) {
  ParseResult r = parse_client_frame(text, limits);
  if (!std::holds_alternative<ProtocolError>(r)) {
    ADD_FAILURE() << "accepted: " << text;
    return ProtocolError{ErrorCode::kBadJson, "", std::nullopt};
  }
  return std::get<ProtocolError>(r);
}

TEST(ClientProtocol, ParsesHelloWithAndWithoutResume) {
  auto h = std::get<HelloFrame>(ok(R"({"type":"hello","token":"t.o.k"})"));
  EXPECT_EQ(h.token, "t.o.k");
  EXPECT_FALSE(h.last_ack.has_value());
  h = std::get<HelloFrame>(
      ok(R"({"type":"hello","token":"t.o.k","resume":{"last_ack":41},"client":"x"})"));
  EXPECT_EQ(h.last_ack, 41u);  // and the unknown field "client" is ignored
}

TEST(ClientProtocol, ParsesEveryActionField) {
  const auto a = std::get<ActionFrame>(ok(
      R"({"type":"action","seq":7,"kind":"attack","t":123456,"seen":41,"args":{"x":1.5,"y":-2,"z":3,"target":99,"text":"hi"},"after":{"actor":99,"seq":4}})"));
  EXPECT_EQ(a.raw_kind, static_cast<int>(region::ActionKind::kAttack));
  EXPECT_EQ(a.kind_name, "attack");
  EXPECT_EQ(a.action.client_seq, 7u);
  EXPECT_EQ(a.action.client_time_ms, 123456u);
  EXPECT_EQ(a.action.seen_tick, 41u);
  EXPECT_EQ(a.action.position, (crdt::Vec3{1.5, -2, 3}));
  EXPECT_EQ(a.action.target, 99u);
  EXPECT_EQ(a.action.text, "hi");
  ASSERT_TRUE(a.action.after.has_value());
  EXPECT_EQ(a.action.after->actor, 99u);
  EXPECT_EQ(a.action.after->seq, 4u);
  EXPECT_EQ(a.action.actor, 0u);  // the session fills in the authenticated player
}

TEST(ClientProtocol, AnAimIsScaledToLengthOneAndAbsentWhenNotSent) {
  const auto a = std::get<ActionFrame>(
      ok(R"({"type":"action","seq":2,"kind":"attack","args":{"target":9,"aim":{"x":3,"z":-4}}})"));
  ASSERT_TRUE(a.action.aim.has_value());
  EXPECT_EQ(*a.action.aim, (crdt::Vec3{0.6, 0, -0.8}));  // y absent: 0
  const auto unit = std::get<ActionFrame>(
      ok(R"({"type":"action","seq":3,"kind":"move","args":{"x":1,"aim":{"x":0,"y":1,"z":0}}})"));
  EXPECT_EQ(unit.action.aim, (crdt::Vec3{0, 1, 0}));
  const auto none =
      std::get<ActionFrame>(ok(R"({"type":"action","seq":4,"kind":"attack","args":{"target":9}})"));
  EXPECT_FALSE(none.action.aim.has_value());
}

TEST(ClientProtocol, AnAimThatIsNoDirectionIsABadField) {
  // JSON has no NaN or infinity literal; 1e999 parses as infinity.
  const char* frames[] = {
      R"({"type":"action","seq":5,"kind":"attack","args":{"target":9,"aim":{"x":0,"y":0,"z":0}}})",
      R"({"type":"action","seq":5,"kind":"attack","args":{"target":9,"aim":{}}})",
      R"({"type":"action","seq":5,"kind":"attack","args":{"target":9,"aim":{"x":1e999}}})",
      R"({"type":"action","seq":5,"kind":"attack","args":{"target":9,"aim":{"x":1e-9}}})",
      R"({"type":"action","seq":5,"kind":"attack","args":{"target":9,"aim":[1,0,0]}})",
      R"({"type":"action","seq":5,"kind":"attack","args":{"target":9,"aim":{"x":"1"}}})",
  };
  for (const char* f : frames) {
    const auto e = refused(f);
    EXPECT_EQ(e.code, ErrorCode::kBadField) << f;
    EXPECT_EQ(e.seq, 5u) << f;
    EXPECT_NE(e.message.find("args.aim"), std::string::npos) << f << " → " << e.message;
  }
}

TEST(ClientProtocol, AnUnknownActionKindParsesForIngressToRefuseAndCount) {
  const auto a = std::get<ActionFrame>(ok(R"({"type":"action","seq":1,"kind":"teleport"})"));
  EXPECT_EQ(a.raw_kind, -1);
  EXPECT_EQ(a.kind_name, "teleport");
}

TEST(ClientProtocol, ParsesPing) {
  EXPECT_EQ(std::get<PingFrame>(ok(R"({"type":"ping","t":5})")).t, 5u);
}

TEST(ClientProtocol, OversizedFrameIsRefusedBeforeParsing) {
  ProtocolLimits limits;
  limits.max_frame_bytes = 64;
  const std::string big = R"({"type":"ping","pad":")" + std::string(100, 'a') + R"("})";
  const auto e = refused(big, limits);
  EXPECT_EQ(e.code, ErrorCode::kFrameTooLarge);
  EXPECT_NE(e.message.find("limit is 64"), std::string::npos);
}

TEST(ClientProtocol, NotJsonIsBadJson) {
  EXPECT_EQ(refused("{\"type\": \"ping\"").code, ErrorCode::kBadJson);
  EXPECT_EQ(refused("\xff\xfe garbage").code, ErrorCode::kBadJson);
  EXPECT_EQ(refused("").code, ErrorCode::kBadJson);
  EXPECT_EQ(refused("[1,2]").code, ErrorCode::kBadJson);  // not an object
}

TEST(ClientProtocol, DeepNestingIsRefused) {
  std::string deep = R"({"type":"ping","x":)";
  for (int i = 0; i < 20; ++i)
    deep += "[";
  for (int i = 0; i < 20; ++i)
    deep += "]";
  deep += "}";
  EXPECT_EQ(refused(deep).code, ErrorCode::kTooDeep);
}

TEST(ClientProtocol, MissingOrUnknownTypeIsRefused) {
  EXPECT_EQ(refused(R"({"seq":1})").code, ErrorCode::kUnknownType);
  EXPECT_EQ(refused(R"({"type":7})").code, ErrorCode::kUnknownType);
  const auto e = refused(R"({"type":"shutdown_server"})");
  EXPECT_EQ(e.code, ErrorCode::kUnknownType);
  EXPECT_NE(e.message.find("shutdown_server"), std::string::npos);
}

TEST(ClientProtocol, WrongTypesAndValuesAreRefusedWithTheField) {
  struct Case {
    const char* frame;
    const char* field;
  };
  const Case cases[] = {
      {R"({"type":"action","kind":"move"})", "seq"},
      {R"({"type":"action","seq":0,"kind":"move"})", "seq"},
      {R"({"type":"action","seq":-3,"kind":"move"})", "seq"},
      {R"({"type":"action","seq":"7","kind":"move"})", "seq"},
      {R"({"type":"action","seq":1.5,"kind":"move"})", "seq"},
      {R"({"type":"action","seq":1})", "kind"},
      {R"({"type":"action","seq":1,"kind":"move","t":"now"})", "t"},
      {R"({"type":"action","seq":1,"kind":"move","seen":-1})", "seen"},
      {R"({"type":"action","seq":1,"kind":"move","args":[1,2]})", "args"},
      {R"({"type":"action","seq":1,"kind":"move","args":{"x":"1"}})", "args.x"},
      {R"({"type":"action","seq":1,"kind":"attack","args":{"target":-1}})", "args.target"},
      {R"({"type":"action","seq":1,"kind":"chat","args":{"text":5}})", "args.text"},
      {R"({"type":"action","seq":1,"kind":"move","after":{"actor":1}})", "after"},
      {R"({"type":"hello","token":"x","resume":{"last_ack":"1"}})", "resume.last_ack"},
      {R"({"type":"ping","t":"x"})", "ping.t"},
  };
  for (const Case& c : cases) {
    const auto e = refused(c.frame);
    EXPECT_EQ(e.code, ErrorCode::kBadField) << c.frame;
    EXPECT_NE(e.message.find(c.field), std::string::npos) << c.frame << " → " << e.message;
  }
  // Once seq could be read, the error carries it: the client can match it to its prediction.
  EXPECT_EQ(refused(R"({"type":"action","seq":9,"kind":"move","args":{"x":null}})").seq, 9u);
}

TEST(ClientProtocol, HelloWithoutATokenIsAnAuthFailure) {
  EXPECT_EQ(refused(R"({"type":"hello"})").code, ErrorCode::kAuthFailed);
  EXPECT_EQ(refused(R"({"type":"hello","token":""})").code, ErrorCode::kAuthFailed);
  EXPECT_EQ(refused(R"({"type":"hello","token":12})").code, ErrorCode::kAuthFailed);
}

TEST(ClientProtocol, ServerFramesReadBackAsWritten) {
  namespace json = boost::json;
  StateFrame s;
  s.tick = 12;
  s.ack = 5;
  s.entities = {{7, {1.5, 0, -2}, 90}, {8, {std::numeric_limits<double>::quiet_NaN(), 0, 0}, 100}};
  s.removed = {3};
  const json::value v = json::parse(encode(WireFormat::kJson, s));
  EXPECT_EQ(v.at("type").as_string(), "state");
  EXPECT_EQ(v.at("tick").as_int64(), 12);
  EXPECT_EQ(v.at("ack").as_int64(), 5);
  ASSERT_EQ(v.at("entities").as_array().size(), 2u);
  EXPECT_EQ(v.at("entities").at(0).at("id").as_int64(), 7);
  EXPECT_EQ(v.at("entities").at(0).at("x").as_double(), 1.5);
  EXPECT_EQ(v.at("entities").at(0).at("health").as_int64(), 90);
  EXPECT_EQ(v.at("entities").at(1).at("x").as_double(), 0.0);  // JSON has no NaN
  EXPECT_EQ(v.at("removed").at(0).as_int64(), 3);

  const json::value e =
      json::parse(encode(WireFormat::kJson, ErrorFrame{ErrorCode::kRateLimited, "slow down"}));
  EXPECT_EQ(e.at("code").as_int64(), 4029);
  EXPECT_EQ(e.at("name").as_string(), "rate_limited");
  const json::value r =
      json::parse(encode(WireFormat::kJson, RejectFrame{4, "target_out_of_range", "12 > 5"}));
  EXPECT_EQ(r.at("seq").as_int64(), 4);
  EXPECT_EQ(r.at("reason").as_string(), "target_out_of_range");
  const json::value w = json::parse(encode(WireFormat::kJson, WelcomeFrame{42, "eu-west", 20, 3}));
  EXPECT_EQ(w.at("player").as_int64(), 42);
  EXPECT_EQ(w.at("region").as_string(), "eu-west");
  EXPECT_EQ(w.at("ack").as_int64(), 3);
}

}  // namespace
}  // namespace worldline::gateway
