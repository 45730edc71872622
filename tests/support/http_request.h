// One HTTP/1.1 request to a server on 127.0.0.1, on a new connection (tests of ledgerd).
#pragma once

// clang-format off
#include <utility>  // before Boost.Asio 1.74, whose awaitable.hpp uses std::exchange
// clang-format on

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace ledger::testing {

// A response: status 0 when nobody listened or nothing came back.
struct HttpReply {
  int status = 0;
  std::string body;

  // The body parsed as JSON (throws if it is not JSON).
  nlohmann::json Json() const { return nlohmann::json::parse(body); }
};

// Sends `method target` with `body` (JSON, when not empty) and `token` as a bearer token
// (when not empty); reads the answer even if the server closes before the body is sent.
inline HttpReply HttpRequest(uint16_t port, boost::beast::http::verb method,
                             const std::string& target, const std::string& body = "",
                             const std::string& token = "") {
  namespace beast = boost::beast;
  namespace http = beast::http;
  namespace net = boost::asio;
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  HttpReply r;
  beast::error_code ec;
  stream.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return r;
  http::request<http::string_body> req(method, target, 11);
  req.set(http::field::host, "127.0.0.1");
  if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
  if (!body.empty()) {
    req.body() = body;
    req.set(http::field::content_type, "application/json");
  }
  req.prepare_payload();
  http::write(stream, req, ec);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res, ec);
  if (ec) return r;
  r.status = static_cast<int>(res.result_int());
  r.body = res.body();
  return r;
}

// GET `target` without a token.
inline HttpReply HttpGet(uint16_t port, const std::string& target) {
  return HttpRequest(port, boost::beast::http::verb::get, target);
}

}  // namespace ledger::testing
