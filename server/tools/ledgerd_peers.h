// ledgerd's part in a cluster on PostgreSQL (DESIGN section 7): it says where it listens
// in the log's node directory, and finds where the writer listens to forward commands.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ledger/pg_log.h"
#include "ledger/status.h"
#include "server/forwarder.h"

namespace ledgerd {

// The log's node directory on a connection of its own. Thread-safe.
class PeerDirectory {
 public:
  // How often a serving node says again where it listens (its heartbeat).
  static constexpr std::chrono::seconds kHeartbeat{1};
  // A node that has not said so for this long no longer counts as live.
  static constexpr std::chrono::seconds kLiveWithin{3};

  // Connects to the log at `conninfo`.
  static ledger::Status Open(const std::string& conninfo, std::unique_ptr<PeerDirectory>* out);
  // Stops the heartbeat.
  ~PeerDirectory();

  // Records that node `self.name` listens at `self`'s addresses.
  ledger::Status Advertise(const ledger::PgNode& self);
  // Where node `name` takes Cap'n Proto requests. NotFound if it never said.
  ledger::Status Find(const std::string& name, server::PeerAddress* out);
  // Reads which nodes are live now (said where they listen within kLiveWithin).
  ledger::Status RefreshLiveNodes();
  // The live nodes as last read (by RefreshLiveNodes or the heartbeat).
  std::vector<std::string> LiveNodes();
  // From now on, every kHeartbeat: says again where `self` listens, then reads the live
  // nodes (a failure is retried at the next beat).
  void StartHeartbeat(const ledger::PgNode& self);
  // Stops the heartbeat (a draining node): the others stop counting it live within
  // kLiveWithin and, spread, take its partitions once it lets go of them.
  void StopHeartbeat();

 private:
  explicit PeerDirectory(std::unique_ptr<ledger::PgLog> log) : log_(std::move(log)) {}

  std::mutex mu_;
  std::unique_ptr<ledger::PgLog> log_;  // guarded by mu_
  std::vector<std::string> live_;       // guarded by mu_
  bool stopping_ = false;               // guarded by mu_
  std::condition_variable stop_cv_;
  std::thread heartbeat_;
};

// The host other nodes reach this one at: `listen_host`, unless it is a wildcard
// (0.0.0.0, ::), then this machine's host name.
std::string AdvertisedHost(const std::string& listen_host);

}  // namespace ledgerd
