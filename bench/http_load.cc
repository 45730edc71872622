// clang-format off
#include <utility>  // before Boost.Asio 1.74, whose awaitable.hpp uses std::exchange
// clang-format on

#include "http_load.h"

#include <fmt/format.h>

#include <boost/asio.hpp>
#include <cctype>
#include <charconv>
#include <memory>

#include "bench_util.h"
#include "load_run.h"

namespace ledger::bench {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

// The value of header `name` (lower case) in `head`, or empty.
std::string_view Header(std::string_view head, std::string_view name) {
  size_t line = head.find("\r\n");
  while (line != std::string_view::npos && line + 2 < head.size()) {
    const size_t start = line + 2;
    const size_t end = head.find("\r\n", start);
    const std::string_view h =
        head.substr(start, end == std::string_view::npos ? end : end - start);
    const size_t colon = h.find(':');
    if (colon == name.size()) {
      bool same = true;
      for (size_t i = 0; i < colon && same; ++i) {
        same = std::tolower(static_cast<unsigned char>(h[i])) == name[i];
      }
      if (same) {
        std::string_view v = h.substr(colon + 1);
        while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
        return v;
      }
    }
    line = end;
  }
  return {};
}

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

  void Read() {
    if (in_.size() - in_end_ < 16384) in_.resize(in_end_ + 16384);
    socket_.async_read_some(net::buffer(in_.data() + in_end_, in_.size() - in_end_),
                            [self = shared_from_this()](error_code ec, size_t n) {
                              if (ec) return self->Fail();
                              self->in_end_ += n;
                              if (!self->TakeResponse()) return self->Read();
                              ++self->next_;
                              self->Send();
                            });
  }

  // Handles the response once it is whole; false while more bytes are needed.
  bool TakeResponse() {
    const std::string_view have(in_.data(), in_end_);
    const size_t head_end = have.find("\r\n\r\n");
    if (head_end == std::string_view::npos) return false;
    const std::string_view head = have.substr(0, head_end);
    const std::string_view length = Header(head, "content-length");
    size_t body_bytes = 0;
    int status = 0;
    if (head.size() < 12 ||
        std::from_chars(length.data(), length.data() + length.size(), body_bytes).ec !=
            std::errc() ||
        std::from_chars(head.data() + 9, head.data() + 12, status).ec != std::errc()) {
      Fail();
      return true;
    }
    if (have.size() < head_end + 4 + body_bytes) return false;
    const std::string_view body = have.substr(head_end + 4, body_bytes);
    if (valid_(status, body)) {
      out_->latencies_us.push_back(MicrosSince(sent_at_));
    } else {
      out_->ok = false;
    }
    const size_t used = head_end + 4 + body_bytes;
    in_.erase(0, used);
    in_end_ -= used;
    return true;
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
  std::string in_;  // response bytes read: in_[0, in_end_)
  size_t in_end_ = 0;
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
  ConnectAndRun(ioc, port, std::move(connections), &result);
  return result;
}

}  // namespace ledger::bench
