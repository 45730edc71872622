// What both front ends do around their connections: bind an acceptor, run I/O threads,
// stop accepting, drain in-flight commands. Private to the server library.
#pragma once

// clang-format off
#include <utility>  // before Boost.Asio 1.74, whose awaitable.hpp uses std::exchange
// clang-format on

#include <fmt/format.h>

#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ledger/status.h"

namespace server::detail {

// The executor of a connection: a strand of the front end's I/O context, by its concrete
// type. Asio's default socket type erases it into any_io_executor, which copies (and
// allocates) the strand on every asynchronous operation: a tenth of ledgerd's own CPU per
// HTTP check went there.
using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;
// A connection's TCP socket on its strand.
using StrandSocket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, Strand>;

// The listening socket of one front end and the I/O threads that serve it.
struct Listener {
  explicit Listener(int threads) : threads(std::max(1, threads)), ioc(this->threads) {}

  // Binds host:port (port 0: any free port); `flag` names the option in errors.
  ledger::Status Bind(const std::string& flag, const std::string& host, uint16_t port,
                      uint16_t* bound_port) {
    using boost::asio::ip::tcp;
    boost::system::error_code ec;
    const auto address = boost::asio::ip::make_address(host, ec);
    if (ec) return ledger::Status::InvalidArgument(flag + ": '" + host + "' is not an IP address");
    // On a strand: accepting and closing (StopAccepting) never run at once.
    tcp::acceptor a(boost::asio::make_strand(ioc));
    const tcp::endpoint endpoint(address, port);
    a.open(endpoint.protocol(), ec);
    if (!ec) a.set_option(boost::asio::socket_base::reuse_address(true), ec);
    if (!ec) a.bind(endpoint, ec);
    if (!ec) a.listen(boost::asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return ledger::Status::IOError(
          fmt::format("cannot listen on {}:{}: {}", host, port, ec.message()));
    }
    *bound_port = a.local_endpoint().port();
    acceptor.emplace(std::move(a));
    return ledger::Status::OK();
  }

  // Runs `threads` threads (this one included) until Stop.
  template <typename StartAccepting>
  void Run(StartAccepting start) {
    work.emplace(ioc.get_executor());
    start();
    std::vector<std::thread> extra;
    for (int i = 1; i < threads; ++i) extra.emplace_back([this] { ioc.run(); });
    ioc.run();
    for (auto& t : extra) t.join();
  }

  // Closes the acceptor (once; any thread).
  void StopAccepting() {
    if (stopping.exchange(true) || !acceptor) return;
    boost::asio::post(acceptor->get_executor(), [this] {
      boost::system::error_code ec;
      acceptor->close(ec);
    });
  }

  // StopAccepting, waits (up to `drain_ms`) until `in_flight` is 0, lets the last answers
  // be written, then stops the threads.
  void Stop(const std::atomic<uint64_t>& in_flight, int drain_ms) {
    StopAccepting();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(drain_ms);
    while (in_flight.load() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    work.reset();
    ioc.stop();
  }

  const int threads;
  boost::asio::io_context ioc;
  std::optional<boost::asio::ip::tcp::acceptor> acceptor;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work;
  std::atomic<bool> stopping{false};
};

}  // namespace server::detail
