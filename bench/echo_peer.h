// The machine's own request rate, the baseline of `ledger-bench network`'s checks: an echo
// peer that reads Cap'n Proto frames as ledgerd does (server/framing.h, one connection per
// client, the same I/O thread count) and answers each request with a fixed check answer of
// the size ledgerd's has, carrying the request's id. It decides nothing, so
// `checks_per_s / echo_per_s` is the share of the machine's request rate that ledgerd's
// check path keeps.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace ledger::bench {

// Runs the peer in this process until SIGTERM: `ledger-bench echo-peer --ready-file F
// [--io-threads N]` writes "127.0.0.1:PORT" to F once it listens. Returns the exit code.
int RunEchoPeer(int argc, char** argv);

// The peer as a child process of the benchmark (this binary, verb echo-peer).
class EchoPeerChild {
 public:
  explicit EchoPeerChild(std::string dir) : dir_(std::move(dir)) {}
  ~EchoPeerChild();
  // Starts it with `io_threads` threads and waits until it listens; false if it cannot.
  bool Start(int io_threads);
  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }

 private:
  std::string dir_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

}  // namespace ledger::bench
