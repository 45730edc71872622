// The PostgreSQL log (ledger/pg_log.h) as a store's upstream (ledger/upstream.h): a
// ledgerd node whose RocksDB is its copy of a log kept in PostgreSQL 15.
//
// This version writes logs of one partition: the node takes partition 0's lease and is
// its only writer; a second node started on the same log fences the first (which then
// answers `unavailable` until it can take the lease back). Partitioned logs with several
// writers need per-partition positions in the local copy (docs/REPLICATED_LOG.md).
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
  // Schema creation and the partition count of a new log (1; see above).
  PgLogOptions log;
};

// Connects to the log at `conninfo` (a libpq connection string) and creates its schema on
// an empty database. InvalidArgument when the log has more than one partition, or when
// options.node is empty. The lease is taken by the store's open (UpstreamLog::Acquire).
Status OpenPgUpstream(const std::string& conninfo, const PgUpstreamOptions& options,
                      std::shared_ptr<UpstreamLog>* upstream);

}  // namespace ledger
