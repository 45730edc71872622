// ledgerd's Cap'n Proto front end (server/schema/protocol.capnp): framed Request and
// Response messages over TCP, optionally TLS, on Boost.Asio. Requests on one connection
// may be pipelined; each response carries its request's id. Command responses are sent
// only once the command is durable (group commit).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "ledger/status.h"
#include "server/framing.h"
#include "server/frontend.h"

namespace server {

// Limits and transport; a request beyond a limit gets an error response naming it.
struct CapnpOptions {
  ConnectionLimits connections;       // longer submits: error
  FrameLimits frame;                  // larger or deeper frames: error, then close
  size_t max_in_flight = 256;         // requests running per connection; more: "unavailable"
  size_t max_write_buffer = 8 << 20;  // unsent response bytes before reading pauses
  int handshake_timeout_seconds = 10;
  std::string tls_cert_file;  // PEM chain; with tls_key_file: serve TLS only
  std::string tls_key_file;
};

// The Cap'n Proto listener. Listen, then Run() on one thread; StopAccepting() and Stop()
// from any thread.
class CapnpServer {
 public:
  // REQUIRES: `frontend` outlives the server.
  CapnpServer(Frontend* frontend, CapnpOptions options);
  ~CapnpServer();

  // Loads the TLS certificate if configured and binds host:port (port 0: any free port).
  ledger::Status Listen(const std::string& host, uint16_t port, uint16_t* bound_port);

  // Serves on options.threads threads until Stop(); returns when they have finished.
  void Run();

  // Stops accepting connections; open connections get "unavailable" for new commands.
  void StopAccepting();

  // StopAccepting, then waits (up to `drain_ms`) until in-flight commands are answered,
  // then stops the threads. Safe from any thread.
  void Stop(int drain_ms = 10000);

  // The implementation (capnp_server.cc); public only so its sessions can name it.
  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace server
