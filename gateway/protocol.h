// The client protocol (docs/protocol.md) in its two wire forms: JSON text frames under the
// WebSocket subprotocol `worldline.json`, and Cap'n Proto packed binary frames
// (schemas/client.capnp) under `worldline.capnp` — the same messages either way. Parsing what a
// game client sends, and encoding what the node sends back. No sockets here: the WebSocket session
// hands each frame to parse_client_frame() (text) or parse_client_capnp() (binary) and writes the
// bytes encode() builds, so the parsers can be unit-tested and fuzzed on their own.
//
// Hostile input is expected: a frame over the size limit, JSON nested past the depth limit, a
// Cap'n Proto message that is truncated or claims more than the limits, a wrong type or value —
// each yields a ProtocolError with a code and a message the client can act on; unknown fields are
// ignored (newer clients keep working). Nothing here throws on input.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "crdt/scalar.h"
#include "region/action.h"

namespace worldline::gateway {

// Error codes of `error` frames (docs/protocol.md lists them with what the client should do).
enum class ErrorCode : std::uint16_t {
  kFrameTooLarge = 4001,
  kBadJson = 4002,
  kTooDeep = 4003,
  kUnknownType = 4004,
  kBadField = 4005,
  kWrongFrameKind = 4006,    // a binary frame under worldline.json, or text under worldline.capnp
  kBadCapnp = 4007,          // a binary frame that is not a packed ClientMessage within the limits
  kNotAuthenticated = 4010,  // an action or ping before a successful hello
  kAuthFailed = 4011,        // missing, forged or expired token
  kAlreadyAuthenticated = 4012,
  // Another region took the player's authority (a higher epoch): this session is closed, with
  // this code as the close code too. Reconnect (the region you reconnect to takes it back).
  kAuthorityMoved = 4013,
  kKicked = 4014,  // the cheat detection's `kick` response (docs/anticheat.md): may reconnect
  kRateLimited = 4029,
  kSlowConsumer = 4030,  // the client did not read its frames: disconnected
  kShuttingDown = 4050,
};
const char* to_string(ErrorCode code);

// The two wire forms, named by their WebSocket subprotocol.
enum class WireFormat { kJson, kCapnp };
const char* subprotocol_name(WireFormat format);  // "worldline.json", "worldline.capnp"
std::optional<WireFormat> wire_format_from_subprotocol(std::string_view name);

struct ProtocolLimits {
  std::size_t max_frame_bytes = 16 * 1024;  // as received (packed, for Cap'n Proto)
  int max_depth = 8;                        // JSON nesting; Cap'n Proto struct nesting
};

struct HelloFrame {
  std::string token;
  std::optional<std::uint64_t> last_ack;  // resume: the highest seq the client saw acknowledged
};

struct ActionFrame {
  int raw_kind = -1;  // region::ActionKind, or -1 for a name we do not know (ingress refuses it)
  std::string kind_name;
  region::Action action;  // actor unset: the session fills in the authenticated player
};

struct PingFrame {
  std::uint64_t t = 0;  // echoed in the pong
};

using ClientFrame = std::variant<HelloFrame, ActionFrame, PingFrame>;

struct ProtocolError {
  ErrorCode code;
  std::string message;
  std::optional<std::uint64_t> seq;  // the action's seq, when it could be read
};

using ParseResult = std::variant<ClientFrame, ProtocolError>;

// The frame-size check both parsers start with: an error for a frame over the limit.
std::optional<ProtocolError> frame_too_large(std::size_t bytes, const ProtocolLimits& limits);
// One JSON text frame.
ParseResult parse_client_frame(std::string_view text, const ProtocolLimits& limits);
// One Cap'n Proto binary frame (a packed ClientMessage). Unpacked it may be at most
// 4 × max_frame_bytes: a few packed bytes can claim many zero words.
ParseResult parse_client_capnp(std::string_view bytes, const ProtocolLimits& limits);

// Server → client frames.
struct WelcomeFrame {
  std::uint64_t player = 0;
  std::string region;
  double tick_hz = 0;
  std::uint64_t ack = 0;  // the resume's last_ack, echoed
};

struct EntityState {
  crdt::EntityId id = 0;
  crdt::Vec3 position;
  std::int64_t health = 0;  // 0 for an item
  bool item = false;        // an item on the ground (region/items.h), which `pickup` targets
  std::uint64_t owner = 0;  // an item's owner once claimed; 0 while unclaimed (players are >= 1)
};

struct StateFrame {
  std::uint64_t tick = 0;
  std::uint64_t ack = 0;  // the highest seq of this client's actions processed
  std::vector<EntityState> entities;
  std::vector<crdt::EntityId> removed;  // left the client's area of interest
};

struct RejectFrame {
  std::uint64_t seq = 0;
  std::string reason;  // a reason name, docs/protocol.md
  std::string detail;
};

struct ErrorFrame {
  ErrorCode code = ErrorCode::kBadJson;
  std::string message;
  std::optional<std::uint64_t> seq{};  // the action's seq, when it could be read (bad_field)
};

struct PongFrame {
  std::uint64_t t = 0;
  std::uint64_t server_ms = 0;
};

using ServerFrame = std::variant<WelcomeFrame, StateFrame, RejectFrame, ErrorFrame, PongFrame>;

// The frame's bytes in the given form: JSON text, or a packed Cap'n Proto ServerMessage.
std::string encode(WireFormat format, const ServerFrame& frame);

// The client's side of the binary form, for clients written against this library (the load
// generator, tests): a ClientFrame as a packed ClientMessage, and a ServerMessage decoded (an
// error with the reason if the bytes are not one).
std::string encode_client_capnp(const ClientFrame& frame);
std::variant<ServerFrame, std::string> decode_server_capnp(std::string_view bytes);

}  // namespace worldline::gateway
