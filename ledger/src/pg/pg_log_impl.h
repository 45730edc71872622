// PgLog::Impl: the connection, its prepared statements and the statements' SQL
// (internal). Not thread-safe, like PgLog.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <string>
#include <string_view>

#include "ledger/pg_log.h"
#include "pg_wire.h"

namespace ledger {

// Prepared on every (re)connection; the group's statements take the partition as $1.
enum class Stmt {
  kAdvance,
  kInsertEvents,
  kInsertCommands,
  kInsertRejections,
  kUpsertHeads,
  kUpsertSideRows,
  kDeleteSideRows,
  kAcquire,
  kRenew,
  kRelease,
  kGetPartition,
  kReadEvents,
  kLookupCommand,
  kGetHead,
  kHeadsOf,
  kRejectionsOf,
  kGetSideRow,
  kCommandsSince,
  kRejectionsSince,
  kSideRowsOf,
  kSettleMeta,
  kGetMeta,
  kAdvertiseNode,
  kFindNode,
  kLiveNodes,
  kEndStaleWriter,
};
inline constexpr int kStmtCount = static_cast<int>(Stmt::kEndStaleWriter) + 1;

// The statement's prepared name and SQL.
const char* StmtName(Stmt s);
const char* StmtSql(Stmt s);

class PgLog::Impl {
 public:
  Impl(std::string conninfo, uint32_t partitions)
      : conninfo_(std::move(conninfo)), partitions_(partitions) {}
  ~Impl();

  // Connected (reconnecting if the connection was lost or left inside a transaction).
  // IOError if the server cannot be reached.
  Status Connect();
  // Connected with every statement prepared.
  Status Ready();
  // Creates the schema if the database has none, else checks its format and partition
  // count against `options`; sets partitions(). REQUIRES: connected.
  Status EnsureSchema(const PgLogOptions& options);
  // Drops the connection (after it failed mid-pipeline); the next Ready reconnects.
  void Drop();
  // Runs a prepared statement with binary parameters and binary results. Not OK (see
  // pg::ErrorStatus) unless it succeeded; *out gets the result.
  Status Run(Stmt s, pg::Params& params, pg::Result* out, std::string_view what);
  // Run on the connection as it is (inside a transaction). REQUIRES: Ready.
  Status Execute(Stmt s, pg::Params& params, pg::Result* out, std::string_view what);
  // Run in a transaction of its own whose lock waits end after `lock_wait` (Unavailable).
  Status RunWaitingAtMost(Stmt s, pg::Params& params, std::chrono::milliseconds lock_wait,
                          pg::Result* out, std::string_view what);
  // Runs plain SQL without parameters (schema creation, meta).
  Status Exec(const std::string& sql, pg::Result* out, std::string_view what);

  Status CheckPartition(uint32_t partition) const;

  PGconn* conn() const { return conn_; }
  uint32_t partitions() const { return partitions_; }
  void set_partitions(uint32_t n) { partitions_ = n; }

  // Set when the server warned that a synchronous-replication wait was cancelled: the
  // transaction committed locally but may not be on a standby.
  bool syncrep_cancelled = false;

 private:
  static void OnNotice(void* arg, const PGresult* r);

  const std::string conninfo_;
  uint32_t partitions_;
  PGconn* conn_ = nullptr;
  bool prepared_ = false;  // the statements are prepared on conn_
};

// Reads a partition row's columns as the statements select them.
void ReadPartitionRow(const PGresult* r, int row, PgPartition* out);

}  // namespace ledger
