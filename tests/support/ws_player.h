// WsPlayer: a game client over a node's WebSocket (worldline.json) for tests that run a real node:
// hello with a token, then actions. Reads are bounded (run_for): a node that does not answer
// fails the test instead of hanging it.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <string>

namespace worldline::testing {

class WsPlayer {
 public:
  // Connects to 127.0.0.1:port and says hello with `token`; `welcome` is the node's answer.
  WsPlayer(std::uint16_t port, const std::string& token) : ws_(ioc_) {
    namespace net = boost::asio;
    boost::beast::get_lowest_layer(ws_).connect(
        net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    ws_.handshake("127.0.0.1", "/");
    ws_.text(true);
    send("{\"type\":\"hello\",\"token\":\"" + token + "\"}");
    welcome = read();
  }
  void send(const std::string& frame) { ws_.write(boost::asio::buffer(frame)); }
  // The next frame, parsed; null after 5 s without one (the read is then cancelled, and the
  // connection is not read from again: a frame may have been half read).
  boost::json::value read() {
    boost::beast::flat_buffer buffer;
    boost::json::value out;
    bool done = false;
    ws_.async_read(buffer, [&](boost::beast::error_code ec, std::size_t) {
      done = true;
      if (!ec) out = boost::json::parse(boost::beast::buffers_to_string(buffer.data()));
    });
    ioc_.restart();
    ioc_.run_for(std::chrono::seconds(5));
    if (!done) {  // the handler refers to this frame's locals: let it run before they go
      boost::beast::get_lowest_layer(ws_).cancel();
      ioc_.restart();
      ioc_.run();
    }
    return out;
  }
  void move(double x, std::uint64_t t, double z = 0) {
    send("{\"type\":\"action\",\"seq\":" + std::to_string(++seq_) +
         ",\"kind\":\"move\",\"t\":" + std::to_string(t) + ",\"args\":{\"x\":" + std::to_string(x) +
         ",\"y\":0,\"z\":" + std::to_string(z) + "}}");
  }
  void attack(std::uint64_t target, std::uint64_t t) {
    send("{\"type\":\"action\",\"seq\":" + std::to_string(++seq_) + ",\"kind\":\"attack\",\"t\":" +
         std::to_string(t) + ",\"args\":{\"target\":" + std::to_string(target) + "}}");
  }
  void close() {
    boost::beast::error_code ignored;
    ws_.close(boost::beast::websocket::close_code::normal, ignored);
  }

  boost::json::value welcome;

 private:
  boost::asio::io_context ioc_;
  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  std::uint64_t seq_ = 0;
};

}  // namespace worldline::testing
