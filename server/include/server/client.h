// A blocking client of ledgerd's Cap'n Proto protocol (server/schema/protocol.capnp),
// over TCP or TLS: what `ledgerctl --server` and the tests use.
#pragma once

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "commands/access.h"
#include "ledger/status.h"
#include "server/framing.h"
#include "server/protocol.capnp.h"

namespace server {

// Where and how to connect.
struct ClientOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 7700;
  std::string token;        // sent with every request; empty: none
  bool tls = false;         // TLS, verifying the server's certificate and host name
  std::string tls_ca_file;  // PEM trust anchors for TLS; empty: the system's
  FrameLimits frame{.max_frame_bytes = 256 << 20, .max_segments = 1024, .nesting_limit = 64};
};

// An error response from the server: code (DESIGN 6.1) and message.
struct RemoteError {
  std::string code;
  std::string message;
};

// One received response frame and its root.
class ResponseFrame {
 public:
  ResponseFrame(kj::Array<capnp::word> frame, const FrameLimits& limits);
  wire::Response::Reader get() { return reader_.getRoot<wire::Response>(); }

 private:
  kj::Array<capnp::word> frame_;
  capnp::FlatArrayMessageReader reader_;
};

class LedgerClient {
 public:
  // Connects (and completes the TLS handshake). IOError naming the address on failure.
  static ledger::Status Connect(const ClientOptions& options, std::unique_ptr<LedgerClient>* out);
  ~LedgerClient();

  // Sends one request (the token and a fresh id are set here; `fill` sets the rest).
  // Returns the id through *id.
  ledger::Status Send(const std::function<void(wire::Request::Builder)>& fill, uint64_t* id);
  // Sends bytes as they are, framed or not (for tests of the server's frame checks).
  ledger::Status SendRaw(std::string_view bytes);
  // Reads the next response, whatever request it answers.
  ledger::Status Receive(std::unique_ptr<ResponseFrame>* out);

  // One request and its answer. An error response becomes a non-OK status (Unavailable
  // for "unavailable", InvalidArgument otherwise) and is kept in remote_error().
  ledger::Status Submit(const std::vector<std::string>& commands,
                        std::vector<std::string>* results);
  ledger::Status Check(const std::string& tenant, const std::string& user,
                       const std::string& product, const std::string& at,
                       commands::AccessDecision* decision);
  ledger::Status State(const std::string& tenant, std::string* json);
  // Up to `limit` stored events (their exact bytes) from `from`; *next: where to go on.
  ledger::Status ReadEvents(uint64_t from, const std::string& tenant, uint32_t limit,
                            std::vector<std::string>* events, uint64_t* next, uint64_t* last);
  ledger::Status Health(uint64_t* position);

  // The last error response received, if any.
  const std::optional<RemoteError>& remote_error() const { return remote_error_; }

  // The implementation (client.cc); public only for its helpers.
  struct Impl;

 private:
  explicit LedgerClient(std::unique_ptr<Impl> impl);
  // Sends, then waits for the response to that request.
  ledger::Status Call(const std::function<void(wire::Request::Builder)>& fill,
                      std::unique_ptr<ResponseFrame>* out);

  std::unique_ptr<Impl> impl_;
  std::optional<RemoteError> remote_error_;
};

}  // namespace server
