// A ledgerd child process for the network benchmarks, and a keep-alive HTTP client of it.
#pragma once

// clang-format off
#include <utility>  // before Boost.Asio 1.74, whose awaitable.hpp uses std::exchange
// clang-format on

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "ledger/sha256.h"

extern char** environ;

namespace ledger::bench {

// The token of the child's one all-tenant system token.
inline constexpr char kToken[] = "bench-token";

// The ledgerd next to this benchmark binary (build/<preset>/server/ledgerd).
inline std::string LedgerdNextToBench() {
  return (std::filesystem::read_symlink("/proc/self/exe").parent_path().parent_path() / "server" /
          "ledgerd")
      .string();
}

namespace child_detail {
namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using json = nlohmann::json;
// One keep-alive HTTP connection of a client thread.
class Client {
 public:
  explicit Client(uint16_t port) : stream_(ioc_) {
    stream_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  }
  // Sends one request; returns the status (0 on a transport error) and fills *body.
  int Send(http::verb method, const std::string& target, const std::string& body,
           std::string* out) {
    http::request<http::string_body> req(method, target, 11);
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::authorization, std::string("Bearer ") + kToken);
    req.keep_alive(true);
    if (!body.empty()) req.body() = body;
    req.prepare_payload();
    beast::error_code ec;
    http::write(stream_, req, ec);
    if (ec) return 0;
    http::response<http::string_body> res;
    http::read(stream_, buffer_, res, ec);
    if (ec) return 0;
    *out = std::move(res.body());
    return static_cast<int>(res.result_int());
  }

 private:
  net::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
};

// A ledgerd child on an ephemeral port with one all-tenant system token.
class Server {
 public:
  explicit Server(const std::string& dir) : dir_(dir) {}
  ~Server() { Stop(); }

  // Starts `ledgerd` with `extra` arguments appended (e.g. --postgres CONNINFO --node N).
  bool Start(const std::string& ledgerd, const std::vector<std::string>& extra = {}) {
    std::ofstream(dir_ + "/tokens.json") << json::array({{{"name", "bench"},
                                                          {"token_sha256", ToHex(Sha256(kToken))},
                                                          {"tenants", {"*"}},
                                                          {"system", true}}})
                                                .dump();
    std::vector<std::string> args = {ledgerd,        "--data",       dir_ + "/ledger",
                                     "--http",       "127.0.0.1:0",  "--listen",
                                     "127.0.0.1:0",  "--tokens",     dir_ + "/tokens.json",
                                     "--ready-file", dir_ + "/ready"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, ledgerd.c_str(), nullptr, nullptr, argv.data(), environ) != 0) {
      return false;
    }
    for (int i = 0; i < 1000 && !std::filesystem::exists(dir_ + "/ready"); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::ifstream in(dir_ + "/ready");
    std::string http, capnp;
    if (!(in >> http >> capnp)) return false;
    port_ = static_cast<uint16_t>(std::stoi(http.substr(http.rfind(':') + 1)));
    capnp_port_ = static_cast<uint16_t>(std::stoi(capnp.substr(capnp.rfind(':') + 1)));
    return true;
  }
  void Stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  uint16_t port() const { return port_; }
  // The child's process id (for its CPU time), -1 when stopped.
  pid_t pid() const { return pid_; }
  uint16_t capnp_port() const { return capnp_port_; }

 private:
  std::string dir_;
  pid_t pid_ = -1;
  uint16_t port_ = 0, capnp_port_ = 0;
};

// One figure of a ledgerd's /metrics text (0 when absent).
inline double MetricValue(const std::string& text, const std::string& name) {
  const size_t at = text.find("\n" + name + " ");
  return at == std::string::npos ? 0 : std::atof(text.c_str() + at + name.size() + 2);
}

// Where a node's groups spent their time: requests per group, and per group the µs of
// deciding and encoding it, of the upstream log's commit and of the local synced write
// (from its /metrics).
struct GroupTimes {
  double size = 0, build_us = 0, commit_us = 0, local_write_us = 0;
};

// Reads `node`'s group times so far.
inline GroupTimes GroupTimesOf(const Server& node) {
  Client c(node.port());
  std::string text;
  c.Send(http::verb::get, "/metrics", "", &text);
  GroupTimes t;
  const double groups = MetricValue(text, "ledger_group_commits_total");
  if (groups <= 0) return t;
  t.size = MetricValue(text, "ledger_group_commit_requests_total") / groups;
  t.build_us = MetricValue(text, "ledger_group_build_seconds_total") * 1e6 / groups;
  t.commit_us = MetricValue(text, "ledger_log_commit_seconds_total") * 1e6 / groups;
  t.local_write_us = MetricValue(text, "ledger_group_write_seconds_total") * 1e6 / groups;
  return t;
}

}  // namespace child_detail

using child_detail::Client;
using child_detail::GroupTimes;
using child_detail::GroupTimesOf;
using child_detail::MetricValue;
using child_detail::Server;

}  // namespace ledger::bench
