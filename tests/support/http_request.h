// One HTTP/1.1 request to a server on 127.0.0.1, on a new connection (tests of ledgerd).
#pragma once

// clang-format off
#include <utility>  // before Boost.Asio 1.74, whose awaitable.hpp uses std::exchange
// clang-format on

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace ledger::testing {

// A response: status 0 when nobody listened or nothing came back.
struct HttpReply {
  int status = 0;
  std::string body;
  bool chunked = false;  // the body came in chunks (Transfer-Encoding: chunked)

  // The body parsed as JSON (throws if it is not JSON).
  nlohmann::json Json() const { return nlohmann::json::parse(body); }
};

// Sends `method target` with `body` (JSON, when not empty) and `token` as a bearer token
// (when not empty); reads the answer even if the server closes before the body is sent.
inline HttpReply HttpRequest(uint16_t port, boost::beast::http::verb method,
                             const std::string& target, const std::string& body = "",
                             const std::string& token = "",
                             const std::vector<std::pair<std::string, std::string>>& headers = {}) {
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
  for (const auto& [name, value] : headers) req.set(name, value);
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
  r.chunked = res.chunked();
  return r;
}

// HttpRequest over TLS, trusting only the certificates in `ca_file` and checking that the
// server's certificate names 127.0.0.1. status 0: no connection, handshake or answer.
inline HttpReply HttpsRequest(uint16_t port, const std::string& ca_file,
                              boost::beast::http::verb method, const std::string& target,
                              const std::string& token = "") {
  namespace beast = boost::beast;
  namespace http = beast::http;
  namespace net = boost::asio;
  namespace ssl = net::ssl;
  net::io_context ioc;
  ssl::context ctx(ssl::context::tls_client);
  ctx.set_verify_mode(ssl::verify_peer);
  HttpReply r;
  beast::error_code ec;
  ctx.load_verify_file(ca_file, ec);
  if (ec) return r;
  beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
  stream.set_verify_callback(ssl::host_name_verification("127.0.0.1"));
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(10));
  beast::get_lowest_layer(stream).connect(
      net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
  if (!ec) stream.handshake(ssl::stream_base::client, ec);
  if (ec) return r;
  http::request<http::string_body> req(method, target, 11);
  req.set(http::field::host, "127.0.0.1");
  if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
  req.prepare_payload();
  http::write(stream, req, ec);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  if (!ec) http::read(stream, buffer, res, ec);
  if (ec) return r;
  r.status = static_cast<int>(res.result_int());
  r.body = res.body();
  return r;
}

// GET `target` without a token.
inline HttpReply HttpGet(uint16_t port, const std::string& target) {
  return HttpRequest(port, boost::beast::http::verb::get, target);
}

// The value of an unlabelled metric in Prometheus text `metrics`; -1 when it is absent.
inline double MetricValue(const std::string& metrics, const std::string& name) {
  const size_t at = metrics.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::stod(metrics.substr(at + name.size() + 2));
}

}  // namespace ledger::testing
