// EventStreamReader: a server-sent-events client on a raw socket, for tests of
// HttpReply::stream (the gateway) and of the dashboard's feed (a node): sends one GET, reads the
// response head, then one event at a time. Every read is bounded (10 s).
#pragma once

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <string>

namespace worldline::testing {

class EventStreamReader {
 public:
  EventStreamReader(std::uint16_t port, const std::string& target) : stream_(ioc_) {
    namespace http = boost::beast::http;
    boost::asio::ip::tcp::resolver resolver(ioc_);
    stream_.expires_after(std::chrono::seconds(10));
    stream_.connect(resolver.resolve("127.0.0.1", std::to_string(port)));
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "127.0.0.1");
    http::write(stream_, req);
    head = read_until("\r\n\r\n");
  }
  // The next event: its lines and the blank line that ends it.
  std::string next() { return read_until("\n\n"); }
  // The next event's `data:` lines joined (for one-line data: the message itself).
  std::string next_data() {
    const std::string event = next();
    std::string data;
    std::size_t at = 0;
    while ((at = event.find("data: ", at)) != std::string::npos) {
      const std::size_t end = event.find('\n', at);
      if (!data.empty()) data += '\n';
      data += event.substr(at + 6, end - at - 6);
      at = end;
    }
    return data;
  }
  void close() {
    boost::beast::error_code ignored;
    stream_.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  std::string head;  // the response's status line and headers

 private:
  std::string read_until(const std::string& end) {
    stream_.expires_after(std::chrono::seconds(10));
    const std::size_t n =
        boost::asio::read_until(stream_, boost::asio::dynamic_buffer(buffer_), end);
    std::string out = buffer_.substr(0, n);
    buffer_.erase(0, n);
    return out;
  }

  boost::asio::io_context ioc_;
  boost::beast::tcp_stream stream_;
  std::string buffer_;
};

}  // namespace worldline::testing
