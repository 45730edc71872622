// The PostgreSQL log (ledger/pg_log.h) as a store's upstream (ledger/upstream.h): a
// ledgerd node whose RocksDB is its copy of a log kept in PostgreSQL 15.
//
// A node takes the lease of each partition it writes (the store decides which); a second
// node taking a partition fences the first there. Leases are renewed by a thread of
// their own every third of their time.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "ledger/pg_log.h"
#include "ledger/status.h"
#include "ledger/upstream.h"

namespace ledger {

// Options for OpenPgUpstream.
struct PgUpstreamOptions {
  // This node's name: the lease owner recorded in the partition row. Required.
  std::string node;
  // How long a lease lasts without renewal: another node may take the partition this long
  // after this one stopped renewing (a thread renews it every third of it, idle or not).
  std::chrono::milliseconds lease_ttl{5000};
  // Schema creation and the partition count of a new log (default 16).
  PgLogOptions log;
};

// Connects to the log at `conninfo` (a libpq connection string) and creates its schema on
// an empty database. InvalidArgument when options.node is empty or the partition count
// differs from the log's. The lease is taken by the store's open (UpstreamLog::Acquire).
Status OpenPgUpstream(const std::string& conninfo, const PgUpstreamOptions& options,
                      std::shared_ptr<UpstreamLog>* upstream);

}  // namespace ledger
