// GatewayServer: the node's client-facing listener, on Boost.Beast. One port serves
//   - WebSocket upgrades (subprotocol `worldline.json` or `worldline.capnp`, the client's first
//     choice that the node serves): one ClientSession per connection, on a
//     strand of its own, exactly one write in flight and a send queue behind it. A client is a
//     slow consumer when what it leaves unread stays unread: the oldest frame not yet written has
//     waited max_unread_ms, or max_unread_bytes are waiting. It is then told (`error
//     slow_consumer`, after the write in flight) and disconnected, so memory never grows without
//     bound — while a client that reads is never cut by a burst of replies, however many frames;
//   - plain HTTP requests, answered by the node's HttpHandler (/healthz, /metrics, /admin/...),
//     at once or later: a handler that needs another thread (the node's loop owns the world)
//     returns HttpReply::later() and answers through the request's HttpResponder, so an I/O
//     thread — and every player session pinned to it — never waits for the loop.
// With an admin listener (ServerOptions::admin_listen), a second port serves the operators' HTTP:
// /metrics, /admin/... and /dashboard/... are answered there only (the players' port says 404 and
// where they went), /healthz on both, and WebSocket upgrades on the players' port only. Beast and
// Asio stay inside server.cc: this header is cheap to include. Thread safety: start/stop from one
// thread; the handler and the RegionPort are called from the I/O threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "gateway/client_session.h"

namespace worldline::gateway {

// EventFeed: the newest message of a server-sent-events stream (text/event-stream), published by
// any thread and written by the server to every request answered with HttpReply::stream(feed).
// Only the newest message is kept: a reader that falls behind skips to it (a live view wants now,
// not history), so a slow reader costs the server one message, never a queue. Thread-safe.
class EventFeed {
 public:
  // One event's data (one line, or several: each becomes a `data:` line). Numbered 1, 2, ...
  void publish(std::string data) {
    auto shared = std::make_shared<const std::string>(std::move(data));
    std::lock_guard<std::mutex> lock(mutex_);
    ++seq_;
    data_ = std::move(shared);
  }
  // The newest message and its number; (0, nullptr) before the first.
  std::pair<std::uint64_t, std::shared_ptr<const std::string>> latest() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return {seq_, data_};
  }

 private:
  mutable std::mutex mutex_;
  std::uint64_t seq_ = 0;                    // GUARDED_BY(mutex_)
  std::shared_ptr<const std::string> data_;  // GUARDED_BY(mutex_)
};

struct HttpReply {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  bool deferred = false;                            // see later()
  std::shared_ptr<const EventFeed> feed = nullptr;  // see stream()

  // What a handler returns when it keeps the request's HttpResponder and answers through it.
  static HttpReply later() {
    HttpReply r;
    r.deferred = true;
    return r;
  }
  // What a handler returns to answer with a server-sent-events stream of `feed`: the server
  // writes `200 text/event-stream`, then each message the feed publishes (checked every
  // ServerOptions::event_stream_poll_ms; messages published in between are skipped) as
  // `id: <n>` and `data: ...` lines, and a comment line after 15 s of silence, until the client
  // goes or the server stops. Beyond ServerOptions::max_event_streams open streams: 503.
  static HttpReply stream(std::shared_ptr<const EventFeed> feed) {
    HttpReply r;
    r.content_type = "text/event-stream";
    r.feed = std::move(feed);
    return r;
  }
};

// Answers one HTTP request, from any thread, once: the first answer is written and any later one
// is ignored (answer() says which). Copies share the request. If every copy is destroyed
// unanswered, the connection is closed (the client sees the connection end, never a hang); if
// no answer comes within ServerOptions::http_answer_timeout_ms the server answers 503 itself.
// After the server stopped, answers go nowhere.
class HttpResponder {
 public:
  struct State;
  HttpResponder() = default;
  explicit HttpResponder(std::shared_ptr<State> state) : state_(std::move(state)) {}
  // True if this was the request's first answer (and so the one the client gets).
  bool answer(HttpReply reply) const;
  // True once the request has its answer (from a copy, the server's timeout, or its close):
  // work whose reply nobody will read can be skipped.
  bool answered() const;
  explicit operator bool() const { return state_ != nullptr; }

 private:
  std::shared_ptr<State> state_;
};

struct HttpRequest {
  std::string method;  // "GET", "PUT", ...
  std::string target;  // path and query
  std::string body;
  std::string bearer;  // the token of an "Authorization: Bearer ..." header, if any
  // For a handler that returns HttpReply::later(): keep a copy and answer through it.
  HttpResponder responder;
};

using HttpHandler = std::function<HttpReply(const HttpRequest&)>;

// Checks that `address` is "ip:port" (a numeric IPv4 or IPv6 address, a port 0..65535); the
// error says what is wrong, for the caller to prefix with the field's name.
crdt::Result<bool> check_listen_address(const std::string& address);

struct ServerOptions {
  std::string listen = "127.0.0.1:0";  // host:port; port 0 picks a free one (see port())
  // ip:port of the operators' HTTP listener (/metrics, /admin/..., /healthz); empty: none, and
  // the players' port serves them all. Port 0 picks a free one (see admin_port()).
  std::string admin_listen;
  int io_threads = 1;
  std::string region_name = "region";
  double tick_hz = 20;
  SessionLimits limits;
  TokenKey key;  // verifies clients' tokens
  // A client is cut as a slow consumer when the oldest frame not yet written to its socket has
  // waited this long (ms), or when this many bytes of frames are waiting (the write in flight
  // included). Judged when a frame is queued (every tick sends one).
  std::uint64_t max_unread_ms = 5000;
  std::size_t max_unread_bytes = 4 * 1024 * 1024;
  // After a close begins (a slow consumer's cut, an error, authority moved, shutdown), how long
  // the write in flight, the explaining error frame and the close handshake may take before the
  // socket is closed outright (a client that never reads again would hold it forever).
  std::uint64_t slow_consumer_grace_ms = 10'000;
  // SO_SNDBUF of each client socket in bytes; 0: the system's (autotuned, up to tcp_wmem's max —
  // 4 MiB by default — that a client not reading can fill before its frames queue here).
  int socket_send_buffer = 0;
  std::size_t max_http_body = 64 * 1024;
  // A request whose handler answers later (HttpReply::later()) gets 503 from the server
  // if no answer came within this many ms.
  std::uint64_t http_answer_timeout_ms = 5000;
  // Server-sent-events streams (HttpReply::stream) open at once, and how often each looks for a
  // newer message.
  std::size_t max_event_streams = 16;
  std::uint64_t event_stream_poll_ms = 100;
};

struct ServerStats {
  std::uint64_t connections = 0;  // WebSocket sessions accepted, ever
  std::uint64_t open = 0;         // open now
  std::uint64_t slow_consumers = 0;
  std::uint64_t http_requests = 0;
  std::uint64_t http_pending = 0;   // answered later, not yet answered
  std::uint64_t http_timeouts = 0;  // answered 503 by http_answer_timeout_ms
  std::uint64_t event_streams = 0;  // server-sent-events streams open now
  std::uint64_t frames_in = 0, frames_out = 0;
};

class GatewayServer {
 public:
  // REQUIRES: region outlives the server.
  GatewayServer(ServerOptions options, RegionPort& region, HttpHandler http);
  ~GatewayServer();  // stops
  GatewayServer(const GatewayServer&) = delete;
  GatewayServer& operator=(const GatewayServer&) = delete;

  // Binds both listeners and starts the I/O threads. Fails with a message naming the field
  // (gateway.listen, gateway.admin_listen) and the address.
  crdt::Result<bool> start();
  // Closes the listeners and every session (1001 going away), waits up to 2 s for requests
  // being answered later, joins the threads.
  void stop();
  std::uint16_t port() const;
  std::uint16_t admin_port() const;  // 0 without an admin listener
  ServerStats stats() const;
  // The cheat detection's throttle (PlayerBudgets::throttle) for the next `for_ms`. Any thread.
  void throttle(std::uint64_t player, double actions_per_s, std::uint64_t for_ms);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace worldline::gateway
