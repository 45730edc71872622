// A Cap'n Proto client of a test's ledgerd, with the all-tenant system token.
#pragma once

// clang-format off
#include <utility>  // before Boost.Asio 1.74, whose awaitable.hpp uses std::exchange
// clang-format on

#include <catch2/catch.hpp>
#include <memory>

#include "server/client.h"
#include "support/ledgerd_process.h"

namespace ledger::testing {

// Connects to `d`'s Cap'n Proto listener as kSystemToken; REQUIREs that it connects.
inline std::unique_ptr<server::LedgerClient> ConnectAsSystem(const LedgerdProcess& d) {
  server::ClientOptions options;
  options.port = d.capnp_port();
  options.token = kSystemToken;
  std::unique_ptr<server::LedgerClient> client;
  REQUIRE(server::LedgerClient::Connect(options, &client).ok());
  return client;
}

}  // namespace ledger::testing
