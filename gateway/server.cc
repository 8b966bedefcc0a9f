#include "gateway/server.h"

#include "gateway/player_budgets.h"

#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace worldline::gateway {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// The subprotocol to speak: the first of the client's offers (comma-separated, in its order of
// preference) that this node serves. No offer at all: JSON, for clients that name none.
std::optional<WireFormat> choose_subprotocol(std::string_view offered) {
  if (offered.find_first_not_of(" \t") == std::string_view::npos) return WireFormat::kJson;
  while (!offered.empty()) {
    const auto comma = offered.find(',');
    std::string_view item = offered.substr(0, comma);
    const auto first = item.find_first_not_of(" \t");
    const auto last = item.find_last_not_of(" \t");
    if (first != std::string_view::npos) {
      if (auto f = wire_format_from_subprotocol(item.substr(first, last - first + 1))) return f;
    }
    if (comma == std::string_view::npos) break;
    offered.remove_prefix(comma + 1);
  }
  return std::nullopt;
}

// An HTTP path that belongs to the operators: with an admin listener, served only there.
bool is_admin_path(std::string_view target) {
  const std::string_view path = target.substr(0, target.find('?'));
  return path == "/metrics" || path == "/admin" || path.rfind("/admin/", 0) == 0 ||
         path == "/dashboard" || path.rfind("/dashboard/", 0) == 0;
}

struct ListenAddress {
  net::ip::address ip;
  std::uint16_t port = 0;
};

crdt::Result<ListenAddress> parse_listen(const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) {
    return crdt::make_error(crdt::ErrorCode::kInvalidArgument, "'" + address + "' is not ip:port");
  }
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);  // [::1]:port
  }
  beast::error_code ec;
  const auto ip = net::ip::make_address(host, ec);
  const std::string digits = address.substr(colon + 1);
  const bool numeric = !digits.empty() && digits.size() <= 5 &&
                       digits.find_first_not_of("0123456789") == std::string::npos;
  const long port = numeric ? std::stol(digits) : -1;
  if (ec || port < 0 || port > 65535) {
    return crdt::make_error(
        crdt::ErrorCode::kInvalidArgument,
        "'" + address + "' is not ip:port (a numeric address, a port 0..65535)");
  }
  return ListenAddress{ip, static_cast<std::uint16_t>(port)};
}

std::uint64_t steady_now_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}
std::int64_t unix_now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// Where a later HTTP answer may go: open while the server runs. An answer that arrives after
// stop() closed it touches nothing of the server (its io_context may be gone).
struct HttpGate {
  std::mutex mutex;
  bool open = true;  // GUARDED_BY(mutex)
};

// One request's answer, shared by the copies of its HttpResponder: the first answer is
// delivered; the last copy destroyed unanswered delivers "close".
struct HttpResponder::State {
  std::atomic<bool> answered{false};
  // Hands the answer (nullopt: close the connection unanswered) to the session's executor.
  std::function<void(std::optional<HttpReply>)> deliver;

  ~State() {
    if (answered.exchange(true) || !deliver) return;
    try {
      deliver(std::nullopt);
    } catch (const std::exception& e) {  // a destructor must not throw: the client times out
      spdlog::error("http: closing an unanswered request failed: {}", e.what());
    }
  }
};

bool HttpResponder::answered() const {
  return !state_ || state_->answered.load();
}

bool HttpResponder::answer(HttpReply reply) const {
  if (!state_ || state_->answered.exchange(true)) return false;
  reply.deferred = false;
  state_->deliver(std::move(reply));
  return true;
}

// Sessions point to the Impl with a plain pointer: the Impl owns the io_context, whose destruction
// (after stop()) destroys every pending handler and with it every session — so the Impl outlives
// them all, and no reference cycle keeps anything alive past the server.
struct GatewayServer::Impl {
  class WsSession;
  class HttpSession;
  class EventStream;

  Impl(ServerOptions o, RegionPort& r, HttpHandler h)
      : options(std::move(o)),
        region(r),
        budgets(options.limits),
        http_handler(std::move(h)),
        acceptor(ioc),
        admin_acceptor(ioc) {}

  ServerOptions options;
  RegionPort& region;
  PlayerBudgets budgets;  // before ioc: the sessions it destroys leave their budgets
  std::atomic<std::uint64_t> event_streams{0};  // before ioc: the streams it destroys count down
  HttpHandler http_handler;
  net::io_context ioc;
  tcp::acceptor acceptor;        // players: WebSocket upgrades and HTTP
  tcp::acceptor admin_acceptor;  // operators: HTTP only; open iff options.admin_listen is set
  std::string admin_where;       // the admin listener's bound ip:port (set by start())
  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> connections{0}, open{0}, slow_consumers{0}, http_requests{0},
      http_pending{0}, http_timeouts{0}, frames_in{0}, frames_out{0};
  std::shared_ptr<HttpGate> http_gate = std::make_shared<HttpGate>();
  std::mutex sessions_mutex;
  std::vector<std::weak_ptr<WsSession>> sessions;   // GUARDED_BY(sessions_mutex)
  std::vector<std::weak_ptr<EventStream>> streams;  // GUARDED_BY(sessions_mutex)

  // Takes a place for an event stream: false when max_event_streams are open.
  bool reserve_event_stream() {
    if (event_streams.fetch_add(1) < options.max_event_streams) return true;
    --event_streams;
    return false;
  }

  // Accepts on `on` for ever (until stop); `admin`: the operators' listener.
  void do_accept(tcp::acceptor& on, bool admin);
  // Opens, binds and listens; the error names `field`.
  crdt::Result<bool> listen_on(tcp::acceptor& on, const std::string& field,
                               const std::string& address);
};

// One WebSocket connection: the ClientSession's socket side.
class GatewayServer::Impl::WsSession : public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(tcp::socket&& socket, Impl* server, WireFormat format)
      : ws_(std::move(socket)), server_(server), format_(format), grace_(ws_.get_executor()) {}

  // What the node reads of one message at all: frames a little over the protocol's limit get a
  // protocol error (frame_too_large) and the session lives on; beyond this, it is closed (1009).
  std::size_t max_message_bytes() const {
    return server_->options.limits.protocol.max_frame_bytes * 4;
  }

  // Answers the upgrade request; `subprotocol` is what we agreed on ("" if the client named none).
  void run(http::request<http::string_body> req, std::string subprotocol) {
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.set_option(websocket::stream_base::decorator([subprotocol](websocket::response_type& res) {
      res.set(http::field::server, "worldline");
      if (!subprotocol.empty()) res.set(http::field::sec_websocket_protocol, subprotocol);
    }));
    // The message limit is enforced by do_read/on_read, not by Beast's read_message_max: Beast's
    // own refusal sends 1009 but then tears the connection down while the client is still
    // writing (its teardown stops draining at the first read that returns data), and the unread
    // bytes make the kernel send a reset, which the client sees as 1006 before it reads the close
    // frame. Our close goes through async_close, which drains the rest of the message until the
    // client's close frame (or the close deadline).
    ws_.read_message_max(0);  // no limit of Beast's own
    ws_.async_accept(req, beast::bind_front_handler(&WsSession::on_accept, shared_from_this()));
  }

  // From any thread: hands a frame to the connection's strand, which encodes it (so encoding runs
  // on the I/O threads, not on the tick thread that publishes).
  void post_send(ServerFrame frame) {
    net::post(ws_.get_executor(), [self = shared_from_this(), f = std::move(frame)]() mutable {
      self->send(encode(self->format_, f));
    });
  }
  void post_send_all(std::vector<ServerFrame> frames) {
    net::post(ws_.get_executor(), [self = shared_from_this(), fs = std::move(frames)]() mutable {
      for (const ServerFrame& f : fs)
        self->send(encode(self->format_, f));
    });
  }
  void post_close(int code, std::string reason) {
    net::post(ws_.get_executor(),
              [self = shared_from_this(), code, r = std::move(reason)] { self->close(code, r); });
  }

 private:
  class Sink : public SessionSink {
   public:
    explicit Sink(std::weak_ptr<WsSession> s) : session_(std::move(s)) {}
    void deliver(ServerFrame frame) override {
      if (auto s = session_.lock()) s->post_send(std::move(frame));
    }
    void deliver_all(std::vector<ServerFrame> frames) override {
      if (auto s = session_.lock()) s->post_send_all(std::move(frames));
    }
    void close(int code, std::string reason) override {
      if (auto s = session_.lock()) s->post_close(code, std::move(reason));
    }

   private:
    std::weak_ptr<WsSession> session_;
  };

  void on_accept(beast::error_code ec) {
    if (ec) {
      spdlog::debug("websocket handshake failed: {}", ec.message());
      return;
    }
    ++server_->connections;
    ++server_->open;
    counted_ = true;
    {
      std::lock_guard<std::mutex> lock(server_->sessions_mutex);
      auto& all = server_->sessions;
      all.erase(std::remove_if(all.begin(), all.end(), [](const auto& w) { return w.expired(); }),
                all.end());
      all.push_back(weak_from_this());
    }
    const ServerOptions& o = server_->options;
    core_ = std::make_unique<ClientSession>(o.limits, o.key, o.region_name, o.tick_hz,
                                            server_->region, server_->budgets,
                                            std::make_shared<Sink>(weak_from_this()), format_);
    do_read();
  }

  // Reads the next message piece by piece, never more than one byte past max_message_bytes():
  // that byte tells a message over the limit without buffering the rest.
  void do_read() {
    ws_.async_read_some(buffer_, max_message_bytes() + 1 - buffer_.size(),
                        beast::bind_front_handler(&WsSession::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (!ec && buffer_.size() > max_message_bytes()) {
      // RFC 6455 7.4.1: 1009, a message too big to process. Nothing more is read for the session;
      // the close drains what the client still sends of the message, until its close frame.
      spdlog::info("session of player {}: a message over {} bytes; closing with 1009",
                   core_ ? core_->player() : 0, max_message_bytes());
      buffer_.clear();
      close(static_cast<int>(websocket::close_code::too_big),
            "frame too large: over " + std::to_string(max_message_bytes()) + " bytes");
      return;
    }
    if (!ec && !ws_.is_message_done()) {
      do_read();
      return;
    }
    if (ec) {
      if (ec != websocket::error::closed && ec != net::error::operation_aborted &&
          ec != net::error::eof) {
        spdlog::info("session of player {}: read ended: {}", core_ ? core_->player() : 0,
                     ec.message());
      }
      finish();
      return;
    }
    ++server_->frames_in;
    const auto data = buffer_.cdata();
    core_->on_frame(std::string_view(static_cast<const char*>(data.data()), data.size()),
                    ws_.got_binary(), steady_now_ms(), unix_now_s());
    buffer_.consume(buffer_.size());
    if (!core_->closed()) do_read();
  }

  // A frame waiting to be written, and when it was queued (steady ms).
  struct Outgoing {
    std::string bytes;
    std::uint64_t queued_ms;
  };

  // Invariant: while writing_, queue_.front() is the buffer async_write is reading; it belongs to
  // that write until on_write runs, and only on_write pops it.
  void send(std::string frame) {
    if (closing_) return;
    const std::uint64_t now = steady_now_ms();
    queued_bytes_ += frame.size();
    queue_.push_back(Outgoing{std::move(frame), now});
    const ServerOptions& o = server_->options;
    const std::uint64_t waited = now - std::min(now, queue_.front().queued_ms);
    if (waited >= o.max_unread_ms || queued_bytes_ > o.max_unread_bytes) {
      cut_slow_consumer(waited);
      return;
    }
    if (!writing_) do_write();
  }

  // The client leaves its frames unread: stop queuing, drop what is not yet handed to a write,
  // and queue the error that explains, to go after the write in flight; then the close.
  void cut_slow_consumer(std::uint64_t waited_ms) {
    ++server_->slow_consumers;
    spdlog::warn(
        "session of player {}: {} frames ({} bytes) unread, the oldest for {} ms; disconnecting a "
        "slow consumer",
        core_ ? core_->player() : 0, queue_.size(), queued_bytes_, waited_ms);
    const std::size_t keep = writing_ ? 1 : 0;  // the in-flight buffer stays until on_write
    while (queue_.size() > keep) {
      queued_bytes_ -= queue_.back().bytes.size();
      queue_.pop_back();
    }
    std::string error =
        encode(format_, ErrorFrame{ErrorCode::kSlowConsumer, "frames were not read in time"});
    queued_bytes_ += error.size();
    queue_.push_back(Outgoing{std::move(error), steady_now_ms()});
    close_code_ = websocket::close_code::policy_error;
    close_reason_ = "slow consumer";
    closing_ = true;
    arm_close_deadline();
    if (!writing_) do_write();
  }

  // A client that never reads again would hold the socket (and the write, and the close
  // handshake) forever: every close, not only a slow consumer's, has a deadline.
  void arm_close_deadline() {
    grace_.expires_after(std::chrono::milliseconds(server_->options.slow_consumer_grace_ms));
    grace_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->finished_) return;
      spdlog::info("session of player {}: the client did not take its close in time, dropped",
                   self->core_ ? self->core_->player() : 0);
      beast::get_lowest_layer(self->ws_).close();  // aborts the write: on_write then finishes
    });
  }

  void do_write() {
    if (queue_.empty()) {
      if (closing_) do_close();
      return;
    }
    writing_ = true;
    ws_.binary(format_ == WireFormat::kCapnp);
    ws_.async_write(net::buffer(queue_.front().bytes),
                    beast::bind_front_handler(&WsSession::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    writing_ = false;
    if (ec) {
      finish();
      return;
    }
    ++server_->frames_out;
    queued_bytes_ -= queue_.front().bytes.size();
    queue_.pop_front();
    do_write();
  }

  void close(int code, const std::string& reason) {
    if (closing_) return;
    closing_ = true;
    close_code_ = static_cast<websocket::close_code>(code);
    close_reason_ = reason;
    arm_close_deadline();
    if (!writing_)
      do_write();  // flushes what is queued (e.g. the error that explains), then closes
  }

  void do_close() {
    if (close_sent_) return;
    close_sent_ = true;
    websocket::close_reason cr(close_code_);
    cr.reason = close_reason_.substr(0, 120);
    ws_.async_close(cr, [self = shared_from_this()](beast::error_code) { self->finish(); });
  }

  void finish() {
    finished_ = true;
    grace_.cancel();
    if (core_) core_->on_close();
    if (counted_) {
      counted_ = false;
      --server_->open;
    }
  }

  websocket::stream<beast::tcp_stream> ws_;
  Impl* server_;
  const WireFormat format_;
  beast::flat_buffer buffer_;
  std::unique_ptr<ClientSession> core_;
  std::deque<Outgoing> queue_;
  std::size_t queued_bytes_ = 0;  // of queue_, the write in flight included
  bool writing_ = false, closing_ = false, close_sent_ = false, counted_ = false, finished_ = false;
  net::steady_timer grace_;  // armed when a slow consumer is cut
  websocket::close_code close_code_ = websocket::close_code::normal;
  std::string close_reason_;
};

// A server-sent-events stream (HttpReply::stream): takes the socket over from its HttpSession,
// writes the response head, then the feed's newest message each time it changes (one write in
// flight; what was published meanwhile is skipped), and a comment line after 15 s with nothing
// new. It reads the socket only to see the client go (a close or a reset ends the read); what a
// client sends on an event stream, pipelined requests included, is read and dropped. A client
// that vanishes without a close is found when a write fails or times out (30 s).
class GatewayServer::Impl::EventStream : public std::enable_shared_from_this<EventStream> {
 public:
  // REQUIRES: the caller reserved this stream's place (Impl::reserve_event_stream); it is given
  // back at destruction.
  EventStream(tcp::socket&& socket, Impl* server, std::shared_ptr<const EventFeed> feed)
      : stream_(std::move(socket)),
        server_(server),
        feed_(std::move(feed)),
        timer_(stream_.get_executor()) {}
  ~EventStream() { --server_->event_streams; }

  void run(unsigned version) {
    {
      std::lock_guard<std::mutex> lock(server_->sessions_mutex);
      auto& all = server_->streams;  // at most max_event_streams live ones, and the expired
      all.erase(std::remove_if(all.begin(), all.end(), [](const auto& w) { return w.expired(); }),
                all.end());
      all.push_back(weak_from_this());
    }
    // No length and no chunking: the body is everything until the connection closes.
    head_ = std::string(version == 10 ? "HTTP/1.0" : "HTTP/1.1") +
            " 200 OK\r\nServer: worldline\r\nContent-Type: text/event-stream\r\n"
            "Cache-Control: no-cache\r\nConnection: close\r\nX-Accel-Buffering: no\r\n\r\n";
    watch_for_close();
    poll();  // the head, with the first event when there is one
  }

  // From any thread (stop()): closes the stream on its strand.
  void post_close() {
    net::post(stream_.get_executor(), [self = shared_from_this()] { self->close(); });
  }

 private:
  static constexpr std::uint64_t kKeepAliveMs = 15'000;

  void watch_for_close() {
    stream_.socket().async_read_some(
        net::buffer(ignored_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
          if (ec) return self->close();
          self->watch_for_close();
        });
  }

  void poll() {
    if (closed_) return;
    if (server_->stopping) return close();
    if (!writing_) write_next();
    timer_.expires_after(std::chrono::milliseconds(server_->options.event_stream_poll_ms));
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->poll();
    });
  }

  // What is due, if anything: the head (once), then the feed's newest message if this stream has
  // not written it — `id: n`, the message as `data:` lines, the blank line that ends the event; a
  // one-line message (a JSON frame) is written from the feed's own copy, shared by every stream —
  // or a keep-alive comment after kKeepAliveMs of silence. After a write, the next is looked for at
  // once (a message published meanwhile goes without waiting for the poll).
  void write_next() {
    std::vector<net::const_buffer> out;
    if (!head_sent_) {
      head_sent_ = true;
      out.push_back(net::buffer(head_));
    }
    auto [seq, data] = feed_->latest();
    if (data && seq != sent_) {
      sent_ = seq;
      message_ = std::move(data);
      prefix_ = "id: " + std::to_string(seq) + "\ndata: ";
      if (message_->find('\n') != std::string::npos) {
        std::string lines;
        for (char c : *message_)
          lines += c == '\n' ? std::string("\ndata: ") : std::string(1, c);
        message_ = std::make_shared<const std::string>(std::move(lines));
      }
      out.insert(out.end(), {net::buffer(prefix_), net::buffer(*message_), net::buffer(kEnd)});
    } else if (out.empty() && steady_now_ms() - last_write_ms_ >= kKeepAliveMs) {
      out.push_back(net::buffer(kKeepAlive));
    }
    if (out.empty()) return;
    writing_ = true;
    last_write_ms_ = steady_now_ms();
    out_ = std::move(out);  // its buffers point into members and message_, kept until done
    stream_.expires_after(std::chrono::seconds(30));  // a client that stops reading lets go
    net::async_write(stream_, out_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->writing_ = false;
      if (ec) return self->close();
      if (!self->closed_) self->write_next();
    });
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    timer_.cancel();
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  static constexpr std::string_view kKeepAlive = ": keep-alive\n\n";
  static constexpr std::string_view kEnd = "\n\n";
  beast::tcp_stream stream_;
  Impl* server_;
  std::shared_ptr<const EventFeed> feed_;
  net::steady_timer timer_;
  std::string head_, prefix_;
  std::shared_ptr<const std::string> message_;  // the event being written
  std::vector<net::const_buffer> out_;
  std::array<char, 256> ignored_{};
  std::uint64_t sent_ = 0, last_write_ms_ = 0;
  bool head_sent_ = false, writing_ = false, closed_ = false;
};

// One HTTP connection: requests answered by the node's handler, or an upgrade to a WsSession.
class GatewayServer::Impl::HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket&& socket, Impl* server, bool admin)
      : stream_(std::move(socket)),
        server_(server),
        admin_(admin),
        answer_timer_(stream_.get_executor()) {}

  void run() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&HttpSession::do_read, shared_from_this()));
  }

 private:
  void do_read() {
    parser_.emplace();
    parser_->body_limit(server_->options.max_http_body);
    stream_.expires_after(std::chrono::seconds(30));
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&HttpSession::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      return;
    }
    if (ec) return;  // a broken or oversized request: nothing to answer
    http::request<http::string_body> req = parser_->release();
    if (admin_ && websocket::is_upgrade(req)) {
      respond(req, HttpReply{404, "text/plain; charset=utf-8",
                             "this is the admin listener (gateway.admin_listen): WebSocket clients "
                             "connect to gateway.listen\n"});
      return;
    }
    if (websocket::is_upgrade(req)) {
      const std::string_view offered = req[http::field::sec_websocket_protocol];
      const std::optional<WireFormat> format = choose_subprotocol(offered);
      if (!format) {
        respond(req, HttpReply{400, "text/plain; charset=utf-8",
                               "unsupported subprotocol: this node serves worldline.json and "
                               "worldline.capnp\n"});
        return;
      }
      // A client that named no subprotocol gets JSON and no Sec-WebSocket-Protocol header.
      const std::string agreed = offered.empty() ? "" : subprotocol_name(*format);
      stream_.expires_never();
      std::make_shared<WsSession>(stream_.release_socket(), server_, *format)
          ->run(std::move(req), agreed);
      return;
    }
    ++server_->http_requests;
    if (!admin_ && !server_->admin_where.empty() && is_admin_path(req.target())) {
      respond(req, HttpReply{404, "text/plain; charset=utf-8",
                             "not here: /metrics, /admin/... and /dashboard moved to the admin "
                             "listener "
                             "(gateway.admin_listen, " +
                                 server_->admin_where + ")\n"});
      return;
    }
    HttpRequest r{std::string(req.method_string()), std::string(req.target()), req.body(), {}, {}};
    const std::string auth(req[http::field::authorization]);
    if (auth.rfind("Bearer ", 0) == 0) r.bearer = auth.substr(7);
    auto state = make_responder_state();
    r.responder = HttpResponder(state);
    HttpReply reply;
    try {
      reply = server_->http_handler ? server_->http_handler(r) : HttpReply{404, {}, "not found\n"};
    } catch (const std::exception& e) {
      spdlog::error("http {} {}: handler failed: {}", r.method, r.target, e.what());
      reply = HttpReply{500, "text/plain; charset=utf-8", "internal error\n"};
    }
    if (reply.feed && reply.status == 200) {  // server-sent events: the socket is the stream's
      state->answered = true;
      start_stream(req.version(), req.keep_alive(), std::move(reply.feed));
      return;
    }
    if (!reply.deferred) {
      state->answered = true;  // a copy the handler kept can no longer answer
      respond(req, reply);
      return;
    }
    // Answered later, from whichever thread: until then this connection reads nothing more
    // (HTTP/1.1 answers in order), and the timer keeps the session alive and bounds the wait.
    version_ = req.version();
    keep_alive_ = req.keep_alive();
    target_ = r.target;
    waiting_ = true;
    ++server_->http_pending;
    stream_.expires_never();
    answer_timer_.expires_after(std::chrono::milliseconds(server_->options.http_answer_timeout_ms));
    answer_timer_.async_wait([self = shared_from_this(),
                              weak = std::weak_ptr(state)](beast::error_code ec) {
      if (ec || !self->waiting_) return;
      if (auto pending = weak.lock()) {
        const bool first = HttpResponder(pending).answer(HttpReply{
            503, "text/plain; charset=utf-8",
            "no answer within " + std::to_string(self->server_->options.http_answer_timeout_ms) +
                " ms: the node's loop is busy or stuck (a write may still be applied: read "
                "before you send it again)\n"});
        if (first) {
          ++self->server_->http_timeouts;
          spdlog::warn("http {}: no answer within {} ms, answered 503", self->target_,
                       self->server_->options.http_answer_timeout_ms);
        }
      }
    });
  }

  // The shared state of a request's responder: its answers are posted to this session's strand.
  std::shared_ptr<HttpResponder::State> make_responder_state() {
    auto state = std::make_shared<HttpResponder::State>();
    state->deliver = [weak = weak_from_this(),
                      gate = server_->http_gate](std::optional<HttpReply> reply) {
      std::lock_guard<std::mutex> lock(gate->mutex);
      if (!gate->open) return;
      auto self = weak.lock();
      if (!self) return;  // the timer let it go: the server is stopping
      net::post(self->stream_.get_executor(),
                [self, reply = std::move(reply)]() mutable { self->finish(std::move(reply)); });
    };
    return state;
  }

  // On the strand: writes the later answer, or closes the connection when none will come.
  void finish(std::optional<HttpReply> reply) {
    if (!waiting_) return;
    waiting_ = false;
    answer_timer_.cancel();
    if (!reply) {
      --server_->http_pending;
      spdlog::warn("http {}: the handler dropped the request unanswered; connection closed",
                   target_);
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream_.socket().close(ignored);
      return;
    }
    if (reply->feed && reply->status == 200) {
      --server_->http_pending;
      start_stream(version_, keep_alive_, std::move(reply->feed));
      return;
    }
    stream_.expires_after(std::chrono::seconds(30));  // a client that stops reading lets go
    respond(version_, keep_alive_, *reply, /*pending=*/true);
  }

  // Hands the connection to an EventStream of `feed`, or answers 503 when max_event_streams are
  // open (then the connection lives on as any other).
  void start_stream(unsigned version, bool keep_alive, std::shared_ptr<const EventFeed> feed) {
    if (!server_->reserve_event_stream()) {
      respond(version, keep_alive,
              HttpReply{503, "text/plain; charset=utf-8",
                        "too many event streams open (" +
                            std::to_string(server_->options.max_event_streams) +
                            "): close one, or poll the JSON route instead\n"});
      return;
    }
    stream_.expires_never();
    std::make_shared<EventStream>(stream_.release_socket(), server_, std::move(feed))->run(version);
  }

  void respond(const http::request<http::string_body>& req, const HttpReply& reply) {
    respond(req.version(), req.keep_alive(), reply);
  }

  // `pending`: the answer of a request counted in http_pending, uncounted once written (so that
  // stop() waits for the write too).
  void respond(unsigned version, bool keep_alive, const HttpReply& reply, bool pending = false) {
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(reply.status), version);
    res->set(http::field::server, "worldline");
    res->set(http::field::content_type, reply.content_type);
    res->keep_alive(keep_alive);
    res->body() = reply.body;
    res->prepare_payload();
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res, pending](beast::error_code ec, std::size_t) {
                        if (pending) --self->server_->http_pending;
                        if (ec) return;
                        if (!res->keep_alive()) {
                          beast::error_code ignored;
                          self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                          return;
                        }
                        self->do_read();
                      });
  }

  beast::tcp_stream stream_;
  Impl* server_;
  const bool admin_;  // accepted by the admin listener
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  // A request answered later: what its response needs, and the bound on the wait.
  net::steady_timer answer_timer_;
  unsigned version_ = 11;
  bool keep_alive_ = false, waiting_ = false;
  std::string target_;
};

void GatewayServer::Impl::do_accept(tcp::acceptor& on, bool admin) {
  on.async_accept(net::make_strand(ioc), [self = this, &on, admin](beast::error_code ec,
                                                                   tcp::socket socket) {
    if (self->stopping) return;
    if (!ec) {
      // Frames are small and latency is the point: no Nagle delay (which,
      // against the client's delayed ACKs, holds a frame for up to 40 ms).
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      if (!admin && self->options.socket_send_buffer > 0) {
        socket.set_option(net::socket_base::send_buffer_size(self->options.socket_send_buffer),
                          ignored);
      }
      std::make_shared<HttpSession>(std::move(socket), self, admin)->run();
    } else {
      spdlog::warn("gateway: accept failed{}: {}", admin ? " (admin listener)" : "", ec.message());
    }
    self->do_accept(on, admin);
  });
}

crdt::Result<bool> GatewayServer::Impl::listen_on(tcp::acceptor& on, const std::string& field,
                                                  const std::string& address) {
  auto parsed = parse_listen(address);
  if (!parsed) {
    return crdt::make_error(crdt::ErrorCode::kInvalidArgument,
                            field + ": " + parsed.error().message);
  }
  const tcp::endpoint endpoint(parsed.value().ip, parsed.value().port);
  beast::error_code ec;
  on.open(endpoint.protocol(), ec);
  if (!ec) on.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) on.bind(endpoint, ec);
  if (!ec) on.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    beast::error_code ignored;
    on.close(ignored);
    return crdt::make_error(crdt::ErrorCode::kInvalidArgument,
                            field + ": cannot listen on " + address + ": " + ec.message());
  }
  return true;
}

crdt::Result<bool> check_listen_address(const std::string& address) {
  auto parsed = parse_listen(address);
  if (!parsed) return parsed.error();
  return true;
}

GatewayServer::GatewayServer(ServerOptions options, RegionPort& region, HttpHandler http)
    : impl_(std::make_unique<Impl>(std::move(options), region, std::move(http))) {
  // Sessions verify with copies of this key: parse its PEM once here, not at every hello.
  TokenKey& key = impl_->options.key;
  if (!key.parsed) {
    if (auto prepared = prepare_token_key(key)) {
      key = std::move(prepared).value();
    } else {
      spdlog::error("gateway: {}; every hello will be refused", prepared.error().message);
    }
  }
}

GatewayServer::~GatewayServer() {
  stop();
}

crdt::Result<bool> GatewayServer::start() {
  Impl& impl = *impl_;
  if (auto opened = impl.listen_on(impl.acceptor, "gateway.listen", impl.options.listen); !opened) {
    return opened.error();
  }
  if (!impl.options.admin_listen.empty()) {
    auto opened =
        impl.listen_on(impl.admin_acceptor, "gateway.admin_listen", impl.options.admin_listen);
    if (!opened) {
      beast::error_code ignored;
      impl.acceptor.close(ignored);
      return opened.error();
    }
  }
  if (impl.admin_acceptor.is_open()) {
    beast::error_code ec;
    const auto ep = impl.admin_acceptor.local_endpoint(ec);
    impl.admin_where = ep.address().is_v6() ? "[" + ep.address().to_string() + "]:"
                                            : ep.address().to_string() + ":";
    impl.admin_where += std::to_string(ep.port());
  }
  impl.do_accept(impl.acceptor, false);
  if (impl.admin_acceptor.is_open()) impl.do_accept(impl.admin_acceptor, true);
  for (int i = 0; i < std::max(1, impl.options.io_threads); ++i)
    impl.threads.emplace_back([p = impl_.get()] { p->ioc.run(); });
  spdlog::info(
      "gateway listening on {} port {} ({} I/O threads){}", impl.options.listen, port(),
      impl.threads.size(),
      impl.admin_where.empty() ? std::string() : "; /metrics and /admin on " + impl.admin_where);
  return true;
}

std::uint16_t GatewayServer::port() const {
  beast::error_code ec;
  const auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

std::uint16_t GatewayServer::admin_port() const {
  if (!impl_->admin_acceptor.is_open()) return 0;
  beast::error_code ec;
  const auto ep = impl_->admin_acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void GatewayServer::stop() {
  if (impl_->threads.empty() || impl_->stopping.exchange(true)) return;
  net::post(impl_->acceptor.get_executor(), [impl = impl_.get()] {
    beast::error_code ignored;
    impl->acceptor.close(ignored);
    impl->admin_acceptor.close(ignored);
  });
  {
    std::lock_guard<std::mutex> lock(impl_->sessions_mutex);
    for (auto& w : impl_->sessions) {
      if (auto s = w.lock()) s->post_close(1001, "node shutting down");
    }
    for (auto& w : impl_->streams) {
      if (auto s = w.lock()) s->post_close();
    }
  }
  // Give the sessions a moment to send their close frames, the requests answered later their
  // answers and the event streams their close, then stop the loop; an answer after this goes
  // nowhere.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while ((impl_->open.load() > 0 || impl_->http_pending.load() > 0 ||
          impl_->event_streams.load() > 0) &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  {
    std::lock_guard<std::mutex> lock(impl_->http_gate->mutex);
    impl_->http_gate->open = false;
  }
  impl_->ioc.stop();
  for (auto& t : impl_->threads)
    t.join();
  impl_->threads.clear();
}

void GatewayServer::throttle(std::uint64_t player, double actions_per_s, std::uint64_t for_ms) {
  const std::uint64_t now = steady_now_ms();
  impl_->budgets.throttle(player, actions_per_s, now + for_ms, now);
}

ServerStats GatewayServer::stats() const {
  ServerStats s;
  s.connections = impl_->connections.load();
  s.open = impl_->open.load();
  s.slow_consumers = impl_->slow_consumers.load();
  s.http_requests = impl_->http_requests.load();
  s.http_pending = impl_->http_pending.load();
  s.http_timeouts = impl_->http_timeouts.load();
  s.event_streams = impl_->event_streams.load();
  s.frames_in = impl_->frames_in.load();
  s.frames_out = impl_->frames_out.load();
  return s;
}

}  // namespace worldline::gateway
