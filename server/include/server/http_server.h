// ledgerd's HTTP/1.1 front end (Boost.Beast): the JSON of DESIGN 6.1 over
//   POST /v1/commands                       one command object or an array of them
//                                           (Idempotency-Key header: the one command's id)
//   GET  /v1/tenants                        the tenants the token reaches
//   GET  /v1/tenants/{t}/check?user=&product=[&at=]
//   GET  /v1/tenants/{t}/state[?at=|position=][&known_at=]
//   GET  /v1/tenants/{t}/history|explain|diff|usage|digest|verify|export?...
//                                           the ledger-replay verbs (replay_routes.h)
//   POST /v1/tenants/{t}/what-if[?at=]     commands decided on a copy, nothing recorded
//   GET|POST /v1/tenants/{t}/leases[/{id}[/heartbeat]], DELETE .../leases/{id}
//   GET  /v1/events?from=N[&tenant=T][&follow=0]   JSON lines, then a live tail
//   POST /v1/admin/backup                   a backup into --backup-dir (admin tokens)
//   GET  /healthz, GET /metrics             (no token needed)
// Every request but /healthz and /metrics carries "Authorization: Bearer <token>"; the
// token's role decides which routes it reaches (tokens.h).
// Command responses are sent only once the command is durable (group commit).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "ledger/status.h"
#include "server/frontend.h"

namespace server {

// Limits; a request beyond one gets a clear error, never a crash.
struct HttpOptions {
  ConnectionLimits connections;     // longer command arrays: 413
  size_t max_body_bytes = 1 << 20;  // larger bodies: 413
  std::string tls_cert_file;        // PEM chain; with tls_key_file: serve HTTPS only
  std::string tls_key_file;
};

// The HTTP/1.1 listener. Listen, then Run() on one thread; StopAccepting() and Stop() from
// any thread.
class HttpServer {
 public:
  // REQUIRES: `frontend` outlives the server.
  HttpServer(Frontend* frontend, HttpOptions options);
  ~HttpServer();

  // Binds host:port (port 0: any free port). Returns the bound port through *port.
  ledger::Status Listen(const std::string& host, uint16_t port, uint16_t* bound_port);

  // Serves on options.threads threads until Stop(); returns when they have finished.
  void Run();

  // Stops accepting connections; open ones finish their current request. Any thread.
  void StopAccepting();

  // StopAccepting, then waits (up to `drain_ms`) until in-flight commands are answered,
  // then stops the threads. Safe from any thread.
  void Stop(int drain_ms = 10000);

  // The implementation (http_server.cc); public only so its sessions can name it.
  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace server
