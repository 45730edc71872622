// ledgerd's part in a cluster on PostgreSQL (DESIGN section 7): it says where it listens
// in the log's node directory, and finds where the writer listens to forward commands.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "ledger/pg_log.h"
#include "ledger/status.h"
#include "server/forwarder.h"

namespace ledgerd {

// The log's node directory on a connection of its own. Thread-safe.
class PeerDirectory {
 public:
  // Connects to the log at `conninfo`.
  static ledger::Status Open(const std::string& conninfo, std::unique_ptr<PeerDirectory>* out);

  // Records that node `self.name` listens at `self`'s addresses.
  ledger::Status Advertise(const ledger::PgNode& self);
  // Where node `name` takes Cap'n Proto requests. NotFound if it never said.
  ledger::Status Find(const std::string& name, server::PeerAddress* out);

 private:
  explicit PeerDirectory(std::unique_ptr<ledger::PgLog> log) : log_(std::move(log)) {}

  std::mutex mu_;
  std::unique_ptr<ledger::PgLog> log_;  // guarded by mu_
};

// The host other nodes reach this one at: `listen_host`, unless it is a wildcard
// (0.0.0.0, ::), then this machine's host name.
std::string AdvertisedHost(const std::string& listen_host);

}  // namespace ledgerd
