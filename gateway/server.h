// GatewayServer: the node's client-facing listener, on Boost.Beast. One port serves
//   - WebSocket upgrades (subprotocol `worldline.json` or `worldline.capnp`, the client's first
//     choice that the node serves): one ClientSession per connection, on a
//     strand of its own, exactly one write in flight and a bounded send queue behind it — a client
//     that does not read its frames is told (`error slow_consumer`) and disconnected, memory never
//     grows without bound;
//   - plain HTTP requests, answered by the node's HttpHandler (/healthz, /metrics, /admin/...).
// Beast and Asio stay inside server.cc: this header is cheap to include.
// Thread safety: start/stop from one thread; the handler and the RegionPort are called from the
// I/O threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "gateway/client_session.h"

namespace worldline::gateway {

struct HttpRequest {
  std::string method;  // "GET", "PUT", ...
  std::string target;  // path and query
  std::string body;
  std::string bearer;  // the token of an "Authorization: Bearer ..." header, if any
};

struct HttpReply {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

using HttpHandler = std::function<HttpReply(const HttpRequest&)>;

struct ServerOptions {
  std::string listen = "127.0.0.1:0";  // host:port; port 0 picks a free one (see port())
  int io_threads = 1;
  std::string region_name = "region";
  double tick_hz = 20;
  SessionLimits limits;
  TokenKey key;                     // verifies clients' tokens
  std::size_t max_send_queue = 64;  // frames waiting for a slow client before it is cut
  std::size_t max_http_body = 64 * 1024;
};

struct ServerStats {
  std::uint64_t connections = 0;  // WebSocket sessions accepted, ever
  std::uint64_t open = 0;         // open now
  std::uint64_t slow_consumers = 0;
  std::uint64_t http_requests = 0;
  std::uint64_t frames_in = 0, frames_out = 0;
};

class GatewayServer {
 public:
  // REQUIRES: region outlives the server.
  GatewayServer(ServerOptions options, RegionPort& region, HttpHandler http);
  ~GatewayServer();  // stops
  GatewayServer(const GatewayServer&) = delete;
  GatewayServer& operator=(const GatewayServer&) = delete;

  // Binds and starts the I/O threads. Fails with a message naming the address.
  crdt::Result<bool> start();
  // Closes the listener and every session (1001 going away), joins the threads.
  void stop();
  std::uint16_t port() const;
  ServerStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace worldline::gateway
