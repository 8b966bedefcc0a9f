// The client protocol's binary form (`worldline.capnp`): messages built with the generated
// schema code parse to exactly the frames the JSON form gives; server frames read back with the
// generated reader field by field; both directions round-trip for any frame (rapidcheck); and every
// class of malformed binary frame is refused with its error code.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <boost/json.hpp>
#include <limits>
#include <string>

#include "gateway/protocol.h"
#include "schemas/client.capnp.h"
#include "schemas/packed.h"

namespace worldline::gateway {
namespace {

namespace wire = schema::client;
namespace json = boost::json;

ClientFrame ok(const std::string& bytes, ProtocolLimits limits = {}) {
  ParseResult r = parse_client_capnp(bytes, limits);
  if (auto* e = std::get_if<ProtocolError>(&r)) {
    ADD_FAILURE() << "refused: " << e->message;
    return PingFrame{};
  }
  return std::get<ClientFrame>(r);
}

ProtocolError refused(const std::string& bytes, ProtocolLimits limits = {}) {
  ParseResult r = parse_client_capnp(bytes, limits);
  if (!std::holds_alternative<ProtocolError>(r)) {
    ADD_FAILURE() << "accepted " << bytes.size() << " bytes";
    return ProtocolError{ErrorCode::kBadJson, "", std::nullopt};
  }
  return std::get<ProtocolError>(r);
}

TEST(ClientProtocolCapnp, AHelloBuiltWithTheSchemaParsesLikeItsJsonForm) {
  capnp::MallocMessageBuilder message;
  auto hello = message.initRoot<wire::ClientMessage>().initHello();
  hello.setToken("t.o.k");
  hello.initResume().setLastAck(41);
  const auto h = std::get<HelloFrame>(ok(schema::to_packed_bytes(message)));
  EXPECT_EQ(h.token, "t.o.k");
  EXPECT_EQ(h.last_ack, 41u);

  capnp::MallocMessageBuilder fresh;
  fresh.initRoot<wire::ClientMessage>().initHello().setToken("a.b.c");
  EXPECT_FALSE(std::get<HelloFrame>(ok(schema::to_packed_bytes(fresh))).last_ack.has_value());
}

TEST(ClientProtocolCapnp, AnActionBuiltWithTheSchemaCarriesEveryField) {
  capnp::MallocMessageBuilder message;
  auto a = message.initRoot<wire::ClientMessage>().initAction();
  a.setSeq(7);
  a.setKind("attack");
  a.setT(1'700'000'000'123);
  a.setSeen(41);
  auto args = a.initArgs();
  args.setX(1.5);
  args.setY(-2);
  args.setZ(3.25);
  args.setTarget(42);
  args.setText("gg");
  a.initAfter().setActor(9);
  a.getAfter().setSeq(4);
  const auto f = std::get<ActionFrame>(ok(schema::to_packed_bytes(message)));
  EXPECT_EQ(f.kind_name, "attack");
  EXPECT_EQ(f.raw_kind, static_cast<int>(region::ActionKind::kAttack));
  EXPECT_EQ(f.action.client_seq, 7u);
  EXPECT_EQ(f.action.client_time_ms, 1'700'000'000'123u);
  EXPECT_EQ(f.action.seen_tick, 41u);
  EXPECT_EQ(f.action.position.x, 1.5);
  EXPECT_EQ(f.action.position.y, -2.0);
  EXPECT_EQ(f.action.position.z, 3.25);
  EXPECT_EQ(f.action.target, 42u);
  EXPECT_EQ(f.action.text, "gg");
  ASSERT_TRUE(f.action.after.has_value());
  EXPECT_EQ(f.action.after->actor, 9u);
  EXPECT_EQ(f.action.after->seq, 4u);

  // The same action in JSON parses to the same frame.
  const ParseResult j = parse_client_frame(
      R"({"type":"action","seq":7,"kind":"attack","t":1700000000123,"seen":41,)"
      R"("args":{"x":1.5,"y":-2,"z":3.25,"target":42,"text":"gg"},"after":{"actor":9,"seq":4}})",
      ProtocolLimits{});
  const auto& jf = std::get<ActionFrame>(std::get<ClientFrame>(j));
  EXPECT_EQ(encode_client_capnp(jf), encode_client_capnp(f));
}

TEST(ClientProtocolCapnp, AnAimIsScaledToLengthOneLikeTheJsonForms) {
  capnp::MallocMessageBuilder message;
  auto a = message.initRoot<wire::ClientMessage>().initAction();
  a.setSeq(2);
  a.setKind("attack");
  auto args = a.initArgs();
  args.setTarget(9);
  auto aim = args.initAim();
  aim.setX(3);
  aim.setZ(-4);
  const auto f = std::get<ActionFrame>(ok(schema::to_packed_bytes(message)));
  EXPECT_EQ(f.action.aim, (crdt::Vec3{0.6, 0, -0.8}));
  const ParseResult j = parse_client_frame(
      R"({"type":"action","seq":2,"kind":"attack","args":{"target":9,"aim":{"x":3,"z":-4}}})",
      ProtocolLimits{});
  EXPECT_EQ(encode_client_capnp(std::get<ActionFrame>(std::get<ClientFrame>(j))),
            encode_client_capnp(f));

  // An old client's message (no aim) has none.
  capnp::MallocMessageBuilder old;
  auto o = old.initRoot<wire::ClientMessage>().initAction();
  o.setSeq(3);
  o.setKind("attack");
  o.initArgs().setTarget(9);
  EXPECT_FALSE(std::get<ActionFrame>(ok(schema::to_packed_bytes(old))).action.aim.has_value());
}

TEST(ClientProtocolCapnp, AnAimThatIsNoDirectionIsABadField) {
  const double nan = std::numeric_limits<double>::quiet_NaN(),
               inf = std::numeric_limits<double>::infinity();
  const crdt::Vec3 cases[] = {{nan, 0, 1}, {0, inf, 0}, {0, 0, 0}, {1e-9, 0, 0}, {-inf, 1, 1}};
  for (const crdt::Vec3& v : cases) {
    capnp::MallocMessageBuilder message;
    auto a = message.initRoot<wire::ClientMessage>().initAction();
    a.setSeq(6);
    a.setKind("attack");
    auto aim = a.initArgs().initAim();
    aim.setX(v.x);
    aim.setY(v.y);
    aim.setZ(v.z);
    const ProtocolError e = refused(schema::to_packed_bytes(message));
    EXPECT_EQ(e.code, ErrorCode::kBadField) << crdt::to_string(v);
    EXPECT_EQ(e.seq, 6u);
    EXPECT_NE(e.message.find("args.aim"), std::string::npos) << e.message;
  }
}

TEST(ClientProtocolCapnp, AnUnknownKindAndNanCoordinatesParseForIngressToRefuse) {
  capnp::MallocMessageBuilder message;
  auto a = message.initRoot<wire::ClientMessage>().initAction();
  a.setSeq(1);
  a.setKind("teleport");
  a.initArgs().setX(std::numeric_limits<double>::quiet_NaN());
  const auto f = std::get<ActionFrame>(ok(schema::to_packed_bytes(message)));
  EXPECT_EQ(f.raw_kind, -1);
  EXPECT_TRUE(std::isnan(f.action.position.x));
}

TEST(ClientProtocolCapnp, ServerFramesReadBackFieldByFieldWithTheGeneratedReader) {
  StateFrame s;
  s.tick = 12;
  s.ack = 5;
  s.entities = {{7, {1.5, 0, -2}, 90}, {8, {4, 5, 6}, -3}};
  s.removed = {3, 4};
  schema::PackedReader reader(encode(WireFormat::kCapnp, s));
  const auto m = reader.root<wire::ServerMessage>();
  ASSERT_EQ(m.which(), wire::ServerMessage::STATE);
  const auto st = m.getState();
  EXPECT_EQ(st.getTick(), 12u);
  EXPECT_EQ(st.getAck(), 5u);
  ASSERT_EQ(st.getEntities().size(), 2u);
  EXPECT_EQ(st.getEntities()[0].getId(), 7u);
  EXPECT_EQ(st.getEntities()[0].getX(), 1.5);
  EXPECT_EQ(st.getEntities()[0].getZ(), -2.0);
  EXPECT_EQ(st.getEntities()[0].getHealth(), 90);
  EXPECT_EQ(st.getEntities()[1].getY(), 5.0);
  EXPECT_EQ(st.getEntities()[1].getHealth(), -3);
  ASSERT_EQ(st.getRemoved().size(), 2u);
  EXPECT_EQ(st.getRemoved()[1], 4u);

  schema::PackedReader e(encode(WireFormat::kCapnp, ErrorFrame{ErrorCode::kRateLimited, "slow"}));
  const auto err = e.root<wire::ServerMessage>();
  ASSERT_EQ(err.which(), wire::ServerMessage::ERROR);
  EXPECT_EQ(err.getError().getCode(), 4029);
  EXPECT_EQ(std::string(err.getError().getName().cStr()), "rate_limited");
  EXPECT_EQ(std::string(err.getError().getMessage().cStr()), "slow");

  schema::PackedReader w(encode(WireFormat::kCapnp, WelcomeFrame{42, "eu-west", 60, 3}));
  const auto wel = w.root<wire::ServerMessage>().getWelcome();
  EXPECT_EQ(wel.getPlayer(), 42u);
  EXPECT_EQ(std::string(wel.getRegion().cStr()), "eu-west");
  EXPECT_EQ(wel.getTickHz(), 60.0);
  EXPECT_EQ(wel.getAck(), 3u);
}

// Generators of frames with the values a client and a node can send.
rc::Gen<ClientFrame> arbitrary_client_frame() {
  return rc::gen::oneOf(
      rc::gen::exec([] {
        HelloFrame h{*rc::gen::nonEmpty(rc::gen::string<std::string>()), std::nullopt};
        if (*rc::gen::arbitrary<bool>()) h.last_ack = *rc::gen::arbitrary<std::uint64_t>();
        return ClientFrame{std::move(h)};
      }),
      rc::gen::map(rc::gen::arbitrary<std::uint64_t>(),
                   [](std::uint64_t t) { return ClientFrame{PingFrame{t}}; }),
      rc::gen::exec([] {
        ActionFrame a;
        a.kind_name = *rc::gen::element<std::string>("move", "attack", "pickup", "interact", "chat",
                                                     "emote", "collide", "teleport");
        if (auto k = region::action_kind_from_string(a.kind_name)) {
          a.raw_kind = static_cast<int>(*k);
        }
        a.action.client_seq = *rc::gen::inRange<std::uint64_t>(1, 1'000'000'000);
        a.action.client_time_ms = *rc::gen::arbitrary<std::uint64_t>();
        a.action.seen_tick = *rc::gen::arbitrary<std::uint64_t>();
        a.action.position = {*rc::gen::arbitrary<double>(), *rc::gen::arbitrary<double>(),
                             *rc::gen::arbitrary<double>()};
        a.action.target = *rc::gen::arbitrary<std::uint64_t>();
        a.action.text = *rc::gen::string<std::string>();
        if (*rc::gen::arbitrary<bool>()) {
          a.action.after = region::Dependency{*rc::gen::inRange<std::uint64_t>(1, 1000),
                                              *rc::gen::inRange<std::uint64_t>(1, 1000)};
        }
        if (*rc::gen::arbitrary<bool>()) {
          // A parsed aim is one unit_aim gave: any non-zero finite direction, scaled.
          const auto unit = region::unit_aim(
              {static_cast<double>(*rc::gen::inRange(-1000, 1000)) + 0.5,
               static_cast<double>(*rc::gen::inRange(-1000, 1000)), *rc::gen::arbitrary<float>()});
          if (unit) a.action.aim = unit;
        }
        return ClientFrame{std::move(a)};
      }));
}

// Equal frames encode to equal bytes: the encoding is a function of every field.
RC_GTEST_PROP(ClientProtocolCapnp, EveryClientFrameParsesBackToItself, ()) {
  const ClientFrame f = *arbitrary_client_frame();
  const std::string bytes = encode_client_capnp(f);
  ProtocolLimits limits;
  limits.max_frame_bytes = 1 << 20;
  const ParseResult r = parse_client_capnp(bytes, limits);
  RC_ASSERT(std::holds_alternative<ClientFrame>(r));
  const ClientFrame& back = std::get<ClientFrame>(r);
  RC_ASSERT(back.index() == f.index());
  RC_ASSERT(encode_client_capnp(back) == bytes);
  if (const auto* a = std::get_if<ActionFrame>(&f)) {
    const auto& b = std::get<ActionFrame>(back);
    RC_ASSERT(b.raw_kind == a->raw_kind);
    RC_ASSERT(b.action.text == a->action.text);
    RC_ASSERT(b.action.client_seq == a->action.client_seq);
    RC_ASSERT(b.action.aim == a->action.aim);  // a unit aim is kept bit for bit
  }
}

RC_GTEST_PROP(ClientProtocolCapnp, EveryServerFrameDecodesBackToItself, ()) {
  const auto finite = rc::gen::map(rc::gen::inRange(-1'000'000, 1'000'000),
                                   [](int v) { return static_cast<double>(v) / 8; });
  ServerFrame f;
  switch (*rc::gen::inRange(0, 5)) {
    case 0:
      f = WelcomeFrame{*rc::gen::arbitrary<std::uint64_t>(), *rc::gen::string<std::string>(),
                       *finite, *rc::gen::arbitrary<std::uint64_t>()};
      break;
    case 1: {
      StateFrame s;
      s.tick = *rc::gen::arbitrary<std::uint64_t>();
      s.ack = *rc::gen::arbitrary<std::uint64_t>();
      const int n = *rc::gen::inRange(0, 40);
      for (int i = 0; i < n; ++i) {
        const bool item = *rc::gen::arbitrary<bool>();
        s.entities.push_back(EntityState{*rc::gen::arbitrary<std::uint64_t>(),
                                         {*finite, *finite, *finite},
                                         *rc::gen::arbitrary<std::int64_t>(),
                                         item,
                                         item ? *rc::gen::arbitrary<std::uint64_t>() : 0});
      }
      s.removed =
          *rc::gen::container<std::vector<std::uint64_t>>(rc::gen::arbitrary<std::uint64_t>());
      f = std::move(s);
      break;
    }
    case 2:
      f = RejectFrame{*rc::gen::arbitrary<std::uint64_t>(), *rc::gen::string<std::string>(),
                      *rc::gen::string<std::string>()};
      break;
    case 3: {
      ErrorFrame e{*rc::gen::element(ErrorCode::kBadField, ErrorCode::kRateLimited,
                                     ErrorCode::kSlowConsumer),
                   *rc::gen::string<std::string>()};
      // The echoed seq: none, or an action's (>= 1).
      if (const auto seq = *rc::gen::arbitrary<std::uint64_t>(); seq != 0) e.seq = seq;
      f = std::move(e);
      break;
    }
    default:
      f = PongFrame{*rc::gen::arbitrary<std::uint64_t>(), *rc::gen::arbitrary<std::uint64_t>()};
  }
  const auto back = decode_server_capnp(encode(WireFormat::kCapnp, f));
  RC_ASSERT(std::holds_alternative<ServerFrame>(back));
  // Every field compared, through the JSON form (finite values only: JSON has no NaN).
  RC_ASSERT(encode(WireFormat::kJson, std::get<ServerFrame>(back)) == encode(WireFormat::kJson, f));
}

std::string ping_bytes() {
  capnp::MallocMessageBuilder message;
  message.initRoot<wire::ClientMessage>().initPing().setT(77);
  return schema::to_packed_bytes(message);
}

TEST(ClientProtocolCapnp, EmptyGarbageAndTruncatedFramesAreBadCapnp) {
  EXPECT_EQ(std::get<PingFrame>(ok(ping_bytes())).t, 77u);
  EXPECT_EQ(refused("").code, ErrorCode::kBadCapnp);
  EXPECT_EQ(refused(std::string("\x00\x01\x02", 3)).code, ErrorCode::kBadCapnp);
  EXPECT_EQ(refused("{\"type\":\"ping\"}").code, ErrorCode::kBadCapnp);  // JSON is not a message
  const std::string whole = ping_bytes();
  for (std::size_t n = 1; n < whole.size(); ++n) {
    const ProtocolError e = refused(whole.substr(0, n));
    EXPECT_EQ(e.code, ErrorCode::kBadCapnp) << n;
    EXPECT_FALSE(e.message.empty());
  }
  EXPECT_EQ(refused(whole + whole).code, ErrorCode::kBadCapnp);  // trailing bytes
}

TEST(ClientProtocolCapnp, AFrameOverTheLimitIsRefusedAndSoIsOneThatUnpacksPastIt) {
  ProtocolLimits limits;
  limits.max_frame_bytes = 64;
  capnp::MallocMessageBuilder message;
  message.initRoot<wire::ClientMessage>().initHello().setToken(std::string(200, 'x'));
  const ProtocolError big = refused(schema::to_packed_bytes(message), limits);
  EXPECT_EQ(big.code, ErrorCode::kFrameTooLarge);
  EXPECT_NE(big.message.find("limit is 64"), std::string::npos);
  // A segment table claiming one segment of 0x10000 words (packed: tag 0x40, one non-zero byte),
  // then runs of 256 zero words (tag 0x00, count 255): 514 bytes that would unpack to 512 KiB,
  // far past 4 × the 16 KiB frame limit. Refused before anything is allocated for it.
  std::string bomb("\x40\x01", 2);
  for (int i = 0; i < 256; ++i)
    bomb += std::string("\x00\xff", 2);
  const ProtocolError e = refused(bomb);
  EXPECT_EQ(e.code, ErrorCode::kBadCapnp);
  EXPECT_NE(e.message.find("size limit"), std::string::npos) << e.message;
}

TEST(ClientProtocolCapnp, NestingPastTheDepthLimitIsRefused) {
  capnp::MallocMessageBuilder message;
  auto a = message.initRoot<wire::ClientMessage>().initAction();
  a.setSeq(1);
  a.setKind("move");
  a.initArgs().setX(1);
  ProtocolLimits shallow;
  shallow.max_depth = 1;  // the root only: the action struct is one level too deep
  EXPECT_EQ(refused(schema::to_packed_bytes(message), shallow).code, ErrorCode::kBadCapnp);
  EXPECT_EQ(std::get<ActionFrame>(ok(schema::to_packed_bytes(message))).action.position.x, 1.0);
}

TEST(ClientProtocolCapnp, WrongValuesAreRefusedWithTheField) {
  capnp::MallocMessageBuilder no_seq;
  no_seq.initRoot<wire::ClientMessage>().initAction().setKind("move");
  const ProtocolError e1 = refused(schema::to_packed_bytes(no_seq));
  EXPECT_EQ(e1.code, ErrorCode::kBadField);
  EXPECT_NE(e1.message.find("seq"), std::string::npos);

  capnp::MallocMessageBuilder no_kind;
  no_kind.initRoot<wire::ClientMessage>().initAction().setSeq(3);
  const ProtocolError e2 = refused(schema::to_packed_bytes(no_kind));
  EXPECT_EQ(e2.code, ErrorCode::kBadField);
  EXPECT_EQ(e2.seq, 3u);

  capnp::MallocMessageBuilder bad_after;
  auto a = bad_after.initRoot<wire::ClientMessage>().initAction();
  a.setSeq(4);
  a.setKind("move");
  a.initAfter().setActor(5);  // seq 0
  EXPECT_EQ(refused(schema::to_packed_bytes(bad_after)).code, ErrorCode::kBadField);

  capnp::MallocMessageBuilder no_token;
  no_token.initRoot<wire::ClientMessage>().initHello();
  EXPECT_EQ(refused(schema::to_packed_bytes(no_token)).code, ErrorCode::kAuthFailed);
}

TEST(ClientProtocolCapnp, AMessageOfANewerClientIsAnUnknownType) {
  // A ping whose union discriminant is rewritten to 7, a member this schema does not have. The
  // flat form: segment table (8 bytes), root pointer (8), then the root's data section, whose first
  // two bytes are the discriminant.
  capnp::MallocMessageBuilder message;
  message.initRoot<wire::ClientMessage>().initPing().setT(1);
  kj::Array<capnp::word> flat = capnp::messageToFlatArray(message);
  kj::ArrayPtr<kj::byte> bytes = flat.asBytes();
  ASSERT_EQ(bytes[16], static_cast<kj::byte>(wire::ClientMessage::PING));
  bytes[16] = 7;
  capnp::FlatArrayMessageReader reader(flat);
  capnp::MallocMessageBuilder newer;
  newer.setRoot(reader.getRoot<wire::ClientMessage>());
  const ProtocolError e = refused(schema::to_packed_bytes(newer));
  EXPECT_EQ(e.code, ErrorCode::kUnknownType);
  EXPECT_NE(e.message.find("7"), std::string::npos);
}

}  // namespace
}  // namespace worldline::gateway
