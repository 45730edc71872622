// The part both load generators (capnp_load.h, http_load.h) share: connect every client
// connection to the server on the loopback, start them together, and time the run.
#pragma once

// clang-format off
#include <utility>  // before Boost.Asio 1.74, whose awaitable.hpp uses std::exchange
// clang-format on

#include <boost/asio.hpp>
#include <memory>
#include <vector>

#include "bench_util.h"
#include "capnp_load.h"

namespace ledger::bench {

// Connects each of `connections` (which have socket() and Start()) to 127.0.0.1 with
// TCP_NODELAY — connection c to ports[c], or every one to ports[0] when it is the only one — starts
// them all, and runs `ioc` until every one has finished; sets result->seconds, or result->ok =
// false if a connection could not be made.
template <typename Connection>
void ConnectAndRun(boost::asio::io_context& ioc, const std::vector<uint16_t>& ports,
                   std::vector<std::shared_ptr<Connection>> connections, LoadResult* result) {
  namespace net = boost::asio;
  for (size_t c = 0; c < connections.size(); ++c) {
    auto& conn = connections[c];
    const uint16_t port = ports.size() == 1 ? ports[0] : ports.at(c);
    boost::system::error_code ec;
    conn->socket().connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
    if (!ec) conn->socket().set_option(net::ip::tcp::no_delay(true), ec);
    if (ec) {
      result->ok = false;
      return;
    }
  }
  const auto start = SteadyClock::now();
  for (auto& c : connections) c->Start();
  connections.clear();  // the handlers hold them
  ioc.run();
  result->seconds = SecondsSince(start);
}

}  // namespace ledger::bench
