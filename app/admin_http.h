// http_call: the plain HTTP/1.1 client of the admin commands (`worldline flags`, `worldline
// events`) and of the tests of the admin routes — Boost.Beast, one request per connection, bounded
// in time. Beast stays inside admin_http.cc.
#pragma once

#include <chrono>
#include <string>

namespace worldline::app {

struct HttpResult {
  int status = 0;     // 0: no reply (error says why)
  std::string body;   // the reply's body
  std::string error;  // connecting, sending or reading failed
};

// One request to `host_port` ("host:port"); `token` goes in "Authorization: Bearer" when set.
HttpResult http_call(const std::string& host_port, const std::string& method,
                     const std::string& target, const std::string& token = {},
                     const std::string& body = {},
                     std::chrono::milliseconds timeout = std::chrono::seconds(10),
                     const std::string& content_type = "application/json");

}  // namespace worldline::app
