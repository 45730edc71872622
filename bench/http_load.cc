// clang-format off
#include <utility>  // before Boost.Asio 1.74, whose awaitable.hpp uses std::exchange
// clang-format on

#include "http_load.h"

#include <fmt/format.h>

#include <boost/asio.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <memory>

#include "bench_util.h"
#include "load_run.h"

namespace ledger::bench {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

// One keep-alive connection: write a request, read its response, repeat.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using Valid = std::function<bool(int, std::string_view)>;
  Connection(net::io_context& ioc, const std::vector<std::string>& requests, const Valid& valid,
             LoadResult* out)
      : socket_(ioc), requests_(requests), valid_(valid), out_(out) {}

  tcp::socket& socket() { return socket_; }

  // Sends the first request (each answer sends the next).
  void Start() { Send(); }

 private:
  void Send() {
    if (next_ >= requests_.size()) return;
    sent_at_ = SteadyClock::now();
    net::async_write(socket_, net::buffer(requests_[next_]),
                     [self = shared_from_this()](error_code ec, size_t) {
                       if (ec) return self->Fail();
                       self->Read();
                     });
  }

  // Reads one response with Beast's parser (the body must fit in memory; ours are small).
  void Read() {
    response_ = {};
    http::async_read(socket_, buffer_, response_,
                     [self = shared_from_this()](error_code ec, size_t) {
                       if (ec) return self->Fail();
                       self->Take();
                       ++self->next_;
                       self->Send();
                     });
  }

  // Judges the response and times it.
  void Take() {
    if (valid_(static_cast<int>(response_.result_int()), response_.body())) {
      out_->latencies_us.push_back(MicrosSince(sent_at_));
    } else {
      out_->ok = false;
    }
  }

  void Fail() {
    out_->ok = false;
    next_ = requests_.size();
    error_code ec;
    socket_.close(ec);
  }

  tcp::socket socket_;
  const std::vector<std::string>& requests_;
  const Valid& valid_;
  LoadResult* out_;
  beast::flat_buffer buffer_;  // bytes read past the last response
  http::response<http::string_body> response_;
  size_t next_ = 0;
  SteadyClock::time_point sent_at_;
};

}  // namespace

std::string HttpRequest(std::string_view method, std::string_view target, std::string_view token,
                        std::string_view body) {
  std::string r = fmt::format("{} {} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n",
                              method, target, token);
  if (!body.empty()) {
    r += fmt::format("Content-Type: application/json\r\nContent-Length: {}\r\n", body.size());
  }
  r += "\r\n";
  r += body;
  return r;
}

LoadResult RunHttpLoad(uint16_t port, const std::vector<std::vector<std::string>>& requests,
                       const std::function<bool(int, std::string_view)>& valid) {
  LoadResult result;
  net::io_context ioc(1);
  std::vector<std::shared_ptr<Connection>> connections;
  for (const auto& list : requests) {
    connections.push_back(std::make_shared<Connection>(ioc, list, valid, &result));
  }
  ConnectAndRun(ioc, {port}, std::move(connections), &result);
  return result;
}

}  // namespace ledger::bench
