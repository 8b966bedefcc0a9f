// The client protocol's binary form (subprotocol `worldline.capnp`, schemas/client.capnp): a
// packed ClientMessage in, a packed ServerMessage out. The checks are the JSON form's, so a
// message means the same in either form; what is specific here is the Cap'n Proto framing —
// truncation, pointers out of bounds, a claim of more words than the limit — which the reader
// reports as a kj::Exception, turned into `error bad_capnp` with its description.
#include <capnp/message.h>
#include <kj/exception.h>

#include "gateway/protocol.h"
#include "schemas/client.capnp.h"
#include "schemas/packed.h"

namespace worldline::gateway {
namespace {

namespace wire = schema::client;

ProtocolError bad(ErrorCode code, std::string message, std::optional<std::uint64_t> seq = {}) {
  return ProtocolError{code, std::move(message), seq};
}

std::string text(capnp::Text::Reader t) {
  return std::string(t.begin(), t.size());
}

// A Text of exactly these bytes: the implicit conversion from std::string goes through c_str()
// and would cut at an embedded NUL.
capnp::Text::Reader as_text(const std::string& s) {
  return capnp::Text::Reader(s.data(), s.size());
}

ParseResult read_action(wire::Action::Reader a) {
  const std::uint64_t seq = a.getSeq();
  if (seq == 0) return bad(ErrorCode::kBadField, "action needs seq, an integer >= 1");
  if (!a.hasKind()) return bad(ErrorCode::kBadField, "action needs kind", seq);
  ActionFrame f;
  f.kind_name = text(a.getKind());
  if (auto k = region::action_kind_from_string(f.kind_name)) f.raw_kind = static_cast<int>(*k);
  f.action.client_seq = seq;
  f.action.client_time_ms = a.getT();
  f.action.seen_tick = a.getSeen();
  if (a.hasArgs()) {
    const auto args = a.getArgs();
    // Non-finite or out-of-world coordinates are ingress's to refuse, with their reason.
    f.action.position = {args.getX(), args.getY(), args.getZ()};
    f.action.target = args.getTarget();
    if (args.hasText()) f.action.text = text(args.getText());
    if (args.hasAim()) {
      // Unlike a position (ingress refuses those with their reason), a bad aim is a malformed
      // field, as in the JSON form.
      const auto aim = args.getAim();
      f.action.aim = region::unit_aim({aim.getX(), aim.getY(), aim.getZ()});
      if (!f.action.aim) {
        return bad(ErrorCode::kBadField, "args.aim must be a finite direction of non-zero length",
                   seq);
      }
    }
  }
  if (a.hasAfter()) {
    const auto after = a.getAfter();
    if (after.getActor() == 0 || after.getSeq() == 0) {
      return bad(ErrorCode::kBadField, "after needs actor and seq, integers >= 1", seq);
    }
    f.action.after = region::Dependency{after.getActor(), after.getSeq()};
  }
  return ClientFrame{std::move(f)};
}

ParseResult read_client_message(wire::ClientMessage::Reader m) {
  switch (m.which()) {
    case wire::ClientMessage::HELLO: {
      const auto h = m.getHello();
      if (!h.hasToken() || h.getToken().size() == 0) {
        return bad(ErrorCode::kAuthFailed, "hello needs a token (a non-empty string)");
      }
      HelloFrame hello{text(h.getToken()), std::nullopt};
      if (h.hasResume()) hello.last_ack = h.getResume().getLastAck();
      return ClientFrame{std::move(hello)};
    }
    case wire::ClientMessage::ACTION:
      return read_action(m.getAction());
    case wire::ClientMessage::PING:
      return ClientFrame{PingFrame{m.getPing().getT()}};
  }
  // A union member this node does not know (a newer client).
  return bad(ErrorCode::kUnknownType,
             "unknown message (union member " + std::to_string(static_cast<int>(m.which())) + ")");
}

}  // namespace

ParseResult parse_client_capnp(std::string_view bytes, const ProtocolLimits& limits) {
  if (auto e = frame_too_large(bytes.size(), limits)) return *e;
  const std::uint64_t max_words = std::max<std::uint64_t>(64, limits.max_frame_bytes * 4 / 8);
  try {
    schema::PackedReader reader(bytes, max_words, limits.max_depth);
    return read_client_message(reader.root<wire::ClientMessage>());
  } catch (const kj::Exception& e) {
    // The description names what was wrong (truncated, out of bounds, over the limit).
    return bad(ErrorCode::kBadCapnp,
               "not a packed ClientMessage: " + std::string(e.getDescription().cStr()));
  }
}

std::string encode_capnp(const ServerFrame& frame) {
  capnp::MallocMessageBuilder message(256);
  auto m = message.initRoot<wire::ServerMessage>();
  struct Visitor {
    mutable wire::ServerMessage::Builder m;
    void operator()(const WelcomeFrame& w) const {
      auto b = m.initWelcome();
      b.setPlayer(w.player);
      b.setRegion(as_text(w.region));
      b.setTickHz(w.tick_hz);
      b.setAck(w.ack);
    }
    void operator()(const StateFrame& s) const {
      auto b = m.initState();
      b.setTick(s.tick);
      b.setAck(s.ack);
      auto entities = b.initEntities(static_cast<unsigned>(s.entities.size()));
      for (unsigned i = 0; i < s.entities.size(); ++i) {
        const EntityState& e = s.entities[i];
        auto out = entities[i];
        out.setId(e.id);
        out.setX(e.position.x);
        out.setY(e.position.y);
        out.setZ(e.position.z);
        out.setHealth(e.health);
        out.setItem(e.item);
        out.setOwner(e.owner);
      }
      auto removed = b.initRemoved(static_cast<unsigned>(s.removed.size()));
      for (unsigned i = 0; i < s.removed.size(); ++i)
        removed.set(i, s.removed[i]);
    }
    void operator()(const RejectFrame& r) const {
      auto b = m.initReject();
      b.setSeq(r.seq);
      b.setReason(as_text(r.reason));
      b.setDetail(as_text(r.detail));
    }
    void operator()(const ErrorFrame& e) const {
      auto b = m.initError();
      b.setCode(static_cast<std::uint16_t>(e.code));
      b.setName(to_string(e.code));
      b.setMessage(as_text(e.message));
      b.setSeq(e.seq.value_or(0));
    }
    void operator()(const PongFrame& p) const {
      auto b = m.initPong();
      b.setT(p.t);
      b.setServerMs(p.server_ms);
    }
  };
  std::visit(Visitor{m}, frame);
  return schema::to_packed_bytes(message);
}

std::string encode_client_capnp(const ClientFrame& frame) {
  capnp::MallocMessageBuilder message(128);
  auto m = message.initRoot<wire::ClientMessage>();
  if (const auto* h = std::get_if<HelloFrame>(&frame)) {
    auto b = m.initHello();
    b.setToken(as_text(h->token));
    if (h->last_ack) b.initResume().setLastAck(*h->last_ack);
  } else if (const auto* p = std::get_if<PingFrame>(&frame)) {
    m.initPing().setT(p->t);
  } else {
    const ActionFrame& a = std::get<ActionFrame>(frame);
    auto b = m.initAction();
    b.setSeq(a.action.client_seq);
    b.setKind(as_text(a.kind_name));
    b.setT(a.action.client_time_ms);
    b.setSeen(a.action.seen_tick);
    auto args = b.initArgs();
    args.setX(a.action.position.x);
    args.setY(a.action.position.y);
    args.setZ(a.action.position.z);
    args.setTarget(a.action.target);
    if (!a.action.text.empty()) args.setText(as_text(a.action.text));
    if (a.action.aim) {
      auto aim = args.initAim();
      aim.setX(a.action.aim->x);
      aim.setY(a.action.aim->y);
      aim.setZ(a.action.aim->z);
    }
    if (a.action.after) {
      auto after = b.initAfter();
      after.setActor(a.action.after->actor);
      after.setSeq(a.action.after->seq);
    }
  }
  return schema::to_packed_bytes(message);
}

std::variant<ServerFrame, std::string> decode_server_capnp(std::string_view bytes) {
  try {
    schema::PackedReader reader(bytes);
    const auto m = reader.root<wire::ServerMessage>();
    switch (m.which()) {
      case wire::ServerMessage::WELCOME: {
        const auto w = m.getWelcome();
        return ServerFrame{
            WelcomeFrame{w.getPlayer(), text(w.getRegion()), w.getTickHz(), w.getAck()}};
      }
      case wire::ServerMessage::STATE: {
        const auto s = m.getState();
        StateFrame f;
        f.tick = s.getTick();
        f.ack = s.getAck();
        for (const auto e : s.getEntities())
          f.entities.push_back(EntityState{
              e.getId(), {e.getX(), e.getY(), e.getZ()}, e.getHealth(), e.getItem(), e.getOwner()});
        for (const std::uint64_t id : s.getRemoved())
          f.removed.push_back(id);
        return ServerFrame{std::move(f)};
      }
      case wire::ServerMessage::REJECT: {
        const auto r = m.getReject();
        return ServerFrame{RejectFrame{r.getSeq(), text(r.getReason()), text(r.getDetail())}};
      }
      case wire::ServerMessage::ERROR: {
        const auto e = m.getError();
        ErrorFrame f{static_cast<ErrorCode>(e.getCode()), text(e.getMessage())};
        if (e.getSeq() != 0) f.seq = e.getSeq();
        return ServerFrame{std::move(f)};
      }
      case wire::ServerMessage::PONG:
        return ServerFrame{PongFrame{m.getPong().getT(), m.getPong().getServerMs()}};
    }
    return std::string("unknown ServerMessage member");
  } catch (const kj::Exception& e) {
    return "not a packed ServerMessage: " + std::string(e.getDescription().cStr());
  }
}

}  // namespace worldline::gateway
