// The client protocol's JSON form (subprotocol `worldline.json`, docs/protocol.md): parsing what a
// game client sends, and writing what the node sends back. No sockets here: the WebSocket session
// hands each text frame to parse_client_frame() and writes the strings these functions build, so
// the parser can be unit-tested and fuzzed on its own.
//
// Hostile input is expected: a frame over the size limit, JSON nested past the depth limit, a
// wrong type or value — each yields a ProtocolError with a code and a message the client can act
// on; unknown fields are ignored (newer clients keep working). Nothing here throws on input.
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
  kNotAuthenticated = 4010,  // an action or ping before a successful hello
  kAuthFailed = 4011,        // missing, forged or expired token
  kAlreadyAuthenticated = 4012,
  kRateLimited = 4029,
  kSlowConsumer = 4030,  // the client did not read its frames: disconnected
  kShuttingDown = 4050,
};
const char* to_string(ErrorCode code);

struct ProtocolLimits {
  std::size_t max_frame_bytes = 16 * 1024;
  int max_depth = 8;
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

ParseResult parse_client_frame(std::string_view text, const ProtocolLimits& limits);

// Server → client frames.
struct EntityState {
  crdt::EntityId id = 0;
  crdt::Vec3 position;
  std::int64_t health = 0;
};

struct StateFrame {
  std::uint64_t tick = 0;
  std::uint64_t ack = 0;  // the highest seq of this client's actions processed
  std::vector<EntityState> entities;
  std::vector<crdt::EntityId> removed;  // left the client's area of interest
};

std::string welcome_json(std::uint64_t player, const std::string& region, double tick_hz,
                         std::uint64_t ack);
std::string state_json(const StateFrame& state);
std::string reject_json(std::uint64_t seq, const std::string& reason, const std::string& detail);
std::string error_json(ErrorCode code, const std::string& message);
std::string pong_json(std::uint64_t t, std::uint64_t server_ms);

}  // namespace worldline::gateway
