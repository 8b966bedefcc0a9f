#include "app/admin_http.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace worldline::app {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

HttpResult http_call(const std::string& host_port, const std::string& method,
                     const std::string& target, const std::string& token, const std::string& body,
                     std::chrono::milliseconds timeout, const std::string& content_type) {
  HttpResult result;
  const std::size_t colon = host_port.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    result.error = "--target must be host:port, not '" + host_port + "'";
    return result;
  }
  std::string host = host_port.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  const std::string port = host_port.substr(colon + 1);
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  // Async operations on one thread, run for at most `timeout` (the stream's expiry closes the
  // socket when it passes): a node that does not answer never blocks the command.
  stream.expires_after(timeout);
  tcp::resolver resolver(ioc);
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, host);
  req.set(http::field::user_agent, "worldline");
  if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
  if (!body.empty()) {
    req.set(http::field::content_type, content_type);
    req.body() = body;
  }
  req.prepare_payload();
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  auto fail = [&](const char* what, beast::error_code ec) {
    result.error = std::string(what) + " " + host_port + ": " + ec.message();
  };
  resolver.async_resolve(host, port, [&](beast::error_code ec, tcp::resolver::results_type r) {
    if (ec) return fail("resolving", ec);
    stream.async_connect(r, [&](beast::error_code ec2, const tcp::endpoint&) {
      if (ec2) return fail("connecting to", ec2);
      http::async_write(stream, req, [&](beast::error_code ec3, std::size_t) {
        if (ec3) return fail("sending to", ec3);
        http::async_read(stream, buffer, res, [&](beast::error_code ec4, std::size_t) {
          if (ec4) return fail("reading from", ec4);
          result.status = static_cast<int>(res.result_int());
          result.body = res.body();
          beast::error_code ignored;
          stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        });
      });
    });
  });
  ioc.run_for(timeout + std::chrono::seconds(1));
  if (result.status == 0 && result.error.empty()) result.error = "no reply from " + host_port;
  return result;
}

}  // namespace worldline::app
