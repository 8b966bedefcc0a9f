#include "gateway/protocol.h"

#include <boost/json.hpp>
#include <cmath>

namespace worldline::gateway {
namespace json = boost::json;

std::string encode_capnp(const ServerFrame& frame);  // protocol_capnp.cc

const char* to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::kFrameTooLarge:
      return "frame_too_large";
    case ErrorCode::kBadJson:
      return "bad_json";
    case ErrorCode::kTooDeep:
      return "too_deep";
    case ErrorCode::kUnknownType:
      return "unknown_type";
    case ErrorCode::kBadField:
      return "bad_field";
    case ErrorCode::kWrongFrameKind:
      return "wrong_frame_kind";
    case ErrorCode::kBadCapnp:
      return "bad_capnp";
    case ErrorCode::kNotAuthenticated:
      return "not_authenticated";
    case ErrorCode::kAuthFailed:
      return "auth_failed";
    case ErrorCode::kAlreadyAuthenticated:
      return "already_authenticated";
    case ErrorCode::kAuthorityMoved:
      return "authority_moved";
    case ErrorCode::kKicked:
      return "kicked";
    case ErrorCode::kRateLimited:
      return "rate_limited";
    case ErrorCode::kSlowConsumer:
      return "slow_consumer";
    case ErrorCode::kShuttingDown:
      return "shutting_down";
  }
  return "unknown";
}

const char* subprotocol_name(WireFormat format) {
  return format == WireFormat::kCapnp ? "worldline.capnp" : "worldline.json";
}

std::optional<WireFormat> wire_format_from_subprotocol(std::string_view name) {
  if (name == "worldline.json") return WireFormat::kJson;
  if (name == "worldline.capnp") return WireFormat::kCapnp;
  return std::nullopt;
}

namespace {

ProtocolError bad(ErrorCode code, std::string message, std::optional<std::uint64_t> seq = {}) {
  return ProtocolError{code, std::move(message), seq};
}

// A non-negative integer field. Absent: nullopt with ok; present with a wrong type: not ok.
struct UintField {
  bool ok = true;
  std::optional<std::uint64_t> value;
};
UintField uint_field(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  if (!v) return {};
  if (v->is_uint64()) return {true, v->as_uint64()};
  if (v->is_int64() && v->as_int64() >= 0) return {true, static_cast<std::uint64_t>(v->as_int64())};
  return {false, std::nullopt};
}

// A number field (int or double). Absent: `fallback`. Present but not a number: nullopt.
std::optional<double> number_field(const json::object& o, std::string_view name, double fallback) {
  const json::value* v = o.if_contains(name);
  if (!v) return fallback;
  if (v->is_double()) return v->as_double();
  if (v->is_int64()) return static_cast<double>(v->as_int64());
  if (v->is_uint64()) return static_cast<double>(v->as_uint64());
  return std::nullopt;
}

ParseResult parse_hello(const json::object& o) {
  const json::value* token = o.if_contains("token");
  if (!token || !token->is_string() || token->as_string().empty()) {
    return bad(ErrorCode::kAuthFailed, "hello needs a token (a non-empty string)");
  }
  HelloFrame hello{std::string(token->as_string()), std::nullopt};
  if (const json::value* resume = o.if_contains("resume")) {
    if (!resume->is_object()) return bad(ErrorCode::kBadField, "resume must be an object");
    const UintField last = uint_field(resume->as_object(), "last_ack");
    if (!last.ok) return bad(ErrorCode::kBadField, "resume.last_ack must be an integer >= 0");
    hello.last_ack = last.value.value_or(0);
  }
  return ClientFrame{std::move(hello)};
}

ParseResult parse_action(const json::object& o) {
  const UintField seq = uint_field(o, "seq");
  if (!seq.ok || !seq.value || *seq.value == 0) {
    return bad(ErrorCode::kBadField, "action needs seq, an integer >= 1");
  }
  const std::uint64_t s = *seq.value;
  const json::value* kind = o.if_contains("kind");
  if (!kind || !kind->is_string()) return bad(ErrorCode::kBadField, "action needs kind", s);
  ActionFrame a;
  a.kind_name = std::string(kind->as_string());
  if (auto k = region::action_kind_from_string(a.kind_name)) a.raw_kind = static_cast<int>(*k);
  a.action.client_seq = s;
  const UintField t = uint_field(o, "t");
  if (!t.ok) return bad(ErrorCode::kBadField, "t must be the client's clock in ms", s);
  a.action.client_time_ms = t.value.value_or(0);
  const UintField seen = uint_field(o, "seen");
  if (!seen.ok) return bad(ErrorCode::kBadField, "seen must be a state frame's tick", s);
  a.action.seen_tick = seen.value.value_or(0);
  if (const json::value* args_v = o.if_contains("args")) {
    if (!args_v->is_object()) return bad(ErrorCode::kBadField, "args must be an object", s);
    const json::object& args = args_v->as_object();
    const auto x = number_field(args, "x", 0), y = number_field(args, "y", 0),
               z = number_field(args, "z", 0);
    if (!x || !y || !z) return bad(ErrorCode::kBadField, "args.x, y, z must be numbers", s);
    a.action.position = {*x, *y, *z};
    const UintField target = uint_field(args, "target");
    if (!target.ok) return bad(ErrorCode::kBadField, "args.target must be an entity id", s);
    a.action.target = target.value.value_or(0);
    if (const json::value* aim_v = args.if_contains("aim")) {
      if (!aim_v->is_object()) {
        return bad(ErrorCode::kBadField, "args.aim must be an object {x, y, z}", s);
      }
      const json::object& aim = aim_v->as_object();
      const auto ax = number_field(aim, "x", 0), ay = number_field(aim, "y", 0),
                 az = number_field(aim, "z", 0);
      if (!ax || !ay || !az)
        return bad(ErrorCode::kBadField, "args.aim.x, y, z must be numbers", s);
      a.action.aim = region::unit_aim({*ax, *ay, *az});
      if (!a.action.aim) {
        return bad(ErrorCode::kBadField, "args.aim must be a finite direction of non-zero length",
                   s);
      }
    }
    if (const json::value* text = args.if_contains("text")) {
      if (!text->is_string()) return bad(ErrorCode::kBadField, "args.text must be a string", s);
      a.action.text = std::string(text->as_string());
    }
  }
  if (const json::value* after = o.if_contains("after")) {
    if (!after->is_object()) return bad(ErrorCode::kBadField, "after must be an object", s);
    const UintField actor = uint_field(after->as_object(), "actor");
    const UintField aseq = uint_field(after->as_object(), "seq");
    if (!actor.ok || !aseq.ok || !actor.value || !aseq.value) {
      return bad(ErrorCode::kBadField, "after needs actor and seq, integers", s);
    }
    a.action.after = region::Dependency{*actor.value, *aseq.value};
  }
  return ClientFrame{std::move(a)};
}

}  // namespace

std::optional<ProtocolError> frame_too_large(std::size_t bytes, const ProtocolLimits& limits) {
  if (bytes <= limits.max_frame_bytes) return std::nullopt;
  return bad(ErrorCode::kFrameTooLarge, "frame of " + std::to_string(bytes) +
                                            " bytes; the limit is " +
                                            std::to_string(limits.max_frame_bytes));
}

ParseResult parse_client_frame(std::string_view text, const ProtocolLimits& limits) {
  if (auto e = frame_too_large(text.size(), limits)) return *e;
  json::parse_options options;
  options.max_depth = static_cast<std::size_t>(limits.max_depth);
  boost::system::error_code ec;
  json::value v = json::parse(text, ec, json::storage_ptr(), options);
  if (ec == json::error::too_deep) {
    return bad(ErrorCode::kTooDeep,
               "JSON nested deeper than " + std::to_string(limits.max_depth) + " levels");
  }
  if (ec) return bad(ErrorCode::kBadJson, "not JSON: " + ec.message());
  if (!v.is_object()) return bad(ErrorCode::kBadJson, "a frame is a JSON object");
  const json::object& o = v.as_object();
  const json::value* type = o.if_contains("type");
  if (!type || !type->is_string()) return bad(ErrorCode::kUnknownType, "a frame needs a type");
  const json::string& t = type->as_string();
  if (t == "hello") return parse_hello(o);
  if (t == "action") return parse_action(o);
  if (t == "ping") {
    const UintField at = uint_field(o, "t");
    if (!at.ok) return bad(ErrorCode::kBadField, "ping.t must be an integer");
    return ClientFrame{PingFrame{at.value.value_or(0)}};
  }
  return bad(
      ErrorCode::kUnknownType,
      "unknown frame type '" + std::string(t.data(), std::min<std::size_t>(t.size(), 32)) + "'");
}

namespace {

// JSON has no NaN or infinity: a non-finite coordinate (never produced by the rules) goes out as 0.
double finite(double v) {
  return std::isfinite(v) ? v : 0.0;
}

}  // namespace

namespace {

std::string encode_json(const ServerFrame& frame) {
  struct Visitor {
    json::object operator()(const WelcomeFrame& w) const {
      return json::object{{"type", "welcome"},
                          {"player", w.player},
                          {"region", w.region},
                          {"tick_hz", w.tick_hz},
                          {"ack", w.ack}};
    }
    json::object operator()(const StateFrame& state) const {
      json::array entities;
      entities.reserve(state.entities.size());
      for (const EntityState& e : state.entities) {
        json::object o{{"id", e.id},
                       {"x", finite(e.position.x)},
                       {"y", finite(e.position.y)},
                       {"z", finite(e.position.z)},
                       {"health", e.health}};
        if (e.item) {
          o["item"] = true;
          if (e.owner != 0) o["owner"] = e.owner;
        }
        entities.push_back(std::move(o));
      }
      json::array removed(state.removed.begin(), state.removed.end());
      return json::object{{"type", "state"},
                          {"tick", state.tick},
                          {"ack", state.ack},
                          {"entities", std::move(entities)},
                          {"removed", std::move(removed)}};
    }
    json::object operator()(const RejectFrame& r) const {
      return json::object{
          {"type", "reject"}, {"seq", r.seq}, {"reason", r.reason}, {"detail", r.detail}};
    }
    json::object operator()(const ErrorFrame& e) const {
      json::object o{{"type", "error"},
                     {"code", static_cast<int>(e.code)},
                     {"name", to_string(e.code)},
                     {"message", e.message}};
      if (e.seq) o["seq"] = *e.seq;
      return o;
    }
    json::object operator()(const PongFrame& p) const {
      return json::object{{"type", "pong"}, {"t", p.t}, {"server_ms", p.server_ms}};
    }
  };
  return json::serialize(std::visit(Visitor{}, frame));
}

}  // namespace

std::string encode(WireFormat format, const ServerFrame& frame) {
  return format == WireFormat::kCapnp ? encode_capnp(frame) : encode_json(frame);
}

}  // namespace worldline::gateway
