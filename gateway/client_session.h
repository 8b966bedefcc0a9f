// ClientSession: the protocol logic of one client connection, without the socket. The WebSocket
// session (server.cc) feeds it every frame; it answers through the session's SessionSink. The
// session speaks one wire form, agreed at the upgrade: JSON text frames or Cap'n Proto binary
// frames; a frame of the other kind is an error (`wrong_frame_kind`).
//
//   before hello: only `hello` — its token is verified (signature, expiry), then the player is
//   attached to the region and `welcome` sent; anything else gets `error not_authenticated`;
//   after hello: `action` (rate-limited per player by two token buckets, actions/s and bytes/s,
//   shared by every session of the player on this gateway: PlayerBudgets) goes to the region,
//   `ping` gets `pong`, a second `hello` is an error.
// Every malformed frame gets an `error` with its code and the session carries on; repeated abuse
// (max_violations malformed or rate-limited frames) closes it with 1008 (policy violation), and a
// failed hello closes it at once. Logs never contain the token.
// Thread safety: one thread at a time (the connection's strand).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "gateway/protocol.h"
#include "gateway/region_host.h"
#include "gateway/token.h"

namespace worldline::gateway {

struct SessionLimits {
  ProtocolLimits protocol;
  double actions_per_s = 60;  // sustained, per player (all its sessions on the gateway)
  double action_burst = 120;
  double bytes_per_s = 64 * 1024;
  double byte_burst = 256 * 1024;
  int max_violations = 20;  // malformed or rate-limited frames before a 1008 close
  std::int64_t token_leeway_s = 30;
};

// A token bucket: `rate` tokens per second, at most `burst` saved.
class TokenBucket {
 public:
  TokenBucket(double rate, double burst) : rate_(rate), burst_(burst), tokens_(burst) {}
  bool take(double n, std::uint64_t now_ms);

 private:
  double rate_, burst_, tokens_;
  std::uint64_t last_ms_ = 0;
  bool started_ = false;
};

struct SessionCounters {
  std::uint64_t frames = 0, actions = 0, errors = 0, rate_limited = 0;
};

class PlayerBudgets;

class ClientSession {
 public:
  // REQUIRES: region and budgets outlive the session; budgets were made with the same limits.
  ClientSession(SessionLimits limits, TokenKey key, std::string region_name, double tick_hz,
                RegionPort& region, PlayerBudgets& budgets, std::shared_ptr<SessionSink> sink,
                WireFormat format = WireFormat::kJson);
  ~ClientSession();

  // One frame, text or binary. now_ms: a steady clock; unix_s: wall time, for token expiry.
  void on_frame(std::string_view frame, bool binary, std::uint64_t now_ms, std::int64_t unix_s);
  // The connection is gone: detaches from the region.
  void on_close();

  bool authenticated() const { return session_.has_value(); }
  bool closed() const { return closed_; }
  std::uint64_t player() const { return player_; }
  const SessionCounters& counters() const { return counters_; }

 private:
  void fail(ErrorCode code, const std::string& message, std::optional<std::uint64_t> seq = {});
  void violation();  // counts one; closes with 1008 at max_violations
  void close(int code, const std::string& reason);
  void hello(const HelloFrame& h, std::uint64_t now_ms, std::int64_t unix_s);

  SessionLimits limits_;
  WireFormat format_;
  TokenKey key_;
  std::string region_name_;
  double tick_hz_;
  RegionPort& region_;
  PlayerBudgets& budgets_;
  std::shared_ptr<SessionSink> sink_;
  std::optional<SessionId> session_;
  std::uint64_t player_ = 0;
  int violations_ = 0;
  bool closed_ = false;
  SessionCounters counters_;
};

}  // namespace worldline::gateway
