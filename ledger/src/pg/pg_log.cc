// PgLog: connection, schema creation, leases and reads. CommitGroup is in pg_commit.cc.
#include "ledger/pg_log.h"

#include <fmt/format.h>

#include <charconv>
#include <climits>
#include <cstring>

#include "ledger/coding.h"
#include "pg_log_impl.h"
#include "pg_schema_sql.h"
#include "records.h"

namespace ledger {
namespace {

// The node directory: where each ledgerd node listens (PgLog::AdvertiseNode), for
// followers forwarding commands to the writer. Created with a new log and added to logs
// created before it existed; pg_log_schema.sql points here.
constexpr char kNodesTableSql[] =
    "CREATE TABLE IF NOT EXISTS ledger_nodes (node text PRIMARY KEY, capnp text NOT NULL, "
    "http text NOT NULL, tls boolean NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())";
// Serializes schema creation between nodes starting together on an empty database.
constexpr char kSchemaLockSql[] = "SELECT pg_advisory_xact_lock(7220281740238571)";
constexpr char kFormatVersion[] = "1";
// Rows read per statement by the scans (bounds the memory of one page).
constexpr uint64_t kPageRows = 512;
// AcquireLease's tries at a row locked by an open transaction, and how long each waits.
constexpr int kAcquireAttempts = 3;
constexpr std::chrono::milliseconds kAcquireLockWait{1000};

// Positions and sequences travel as int8: clamp "no bound" to its largest value.
uint64_t ClampInt8(uint64_t v) { return v > uint64_t{INT64_MAX} ? uint64_t{INT64_MAX} : v; }

Status DecodeHeadColumns(const PGresult* r, int row, int col, StreamHead* head) {
  head->version = pg::FieldInt8(r, row, col);
  head->position = pg::FieldInt8(r, row, col + 1);
  const std::string_view hash = pg::Field(r, row, col + 2);
  if (hash.size() != head->hash.size()) return Status::Corruption("ledger_heads: bad hash");
  std::memcpy(head->hash.data(), hash.data(), hash.size());
  return Status::OK();
}

}  // namespace

void ReadPartitionRow(const PGresult* r, int row, PgPartition* out) {
  out->partition = pg::FieldInt4(r, row, 0);
  out->owner = std::string(pg::Field(r, row, 1));
  out->epoch = pg::FieldInt8(r, row, 2);
  out->lease_until = static_cast<Micros>(pg::FieldInt8(r, row, 3));
  out->last_position = pg::FieldInt8(r, row, 4);
  out->last_rejection = pg::FieldInt8(r, row, 5);
  out->ledger_time = static_cast<Micros>(pg::FieldInt8(r, row, 6));
}

// ---- Impl

PgLog::Impl::~Impl() { Drop(); }

void PgLog::Impl::Drop() {
  if (conn_ != nullptr) PQfinish(conn_);
  conn_ = nullptr;
  prepared_ = false;
}

void PgLog::Impl::OnNotice(void* arg, const PGresult* r) {
  auto* impl = static_cast<Impl*>(arg);
  const char* severity = PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED);
  const char* message = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
  // PostgreSQL gives this warning no SQLSTATE of its own: its (English) text is the sign.
  if (severity != nullptr && std::strcmp(severity, "WARNING") == 0 && message != nullptr &&
      std::strstr(message, "wait for synchronous replication") != nullptr) {
    impl->syncrep_cancelled = true;
  }
}

Status PgLog::Impl::Connect() {
  if (conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK &&
      PQtransactionStatus(conn_) == PQTRANS_IDLE) {
    return Status::OK();
  }
  Drop();
  conn_ = PQconnectdb(conninfo_.c_str());
  if (PQstatus(conn_) != CONNECTION_OK) {
    Status s = pg::ErrorStatus(nullptr, conn_, "postgres: connect");
    Drop();
    return s;
  }
  PQsetNoticeReceiver(conn_, &Impl::OnNotice, this);
  return Status::OK();
}

Status PgLog::Impl::Ready() {
  Status s = Connect();
  if (!s.ok() || prepared_) return s;
  for (int i = 0; i < kStmtCount; ++i) {
    const Stmt st = static_cast<Stmt>(i);
    pg::Result r(PQprepare(conn_, StmtName(st), StmtSql(st), 0, nullptr));
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
      s = pg::ErrorStatus(r.get(), conn_, fmt::format("postgres: prepare {}", StmtName(st)));
      Drop();
      return s;
    }
  }
  prepared_ = true;
  return Status::OK();
}

Status PgLog::Impl::Run(Stmt st, pg::Params& params, pg::Result* out, std::string_view what) {
  Status s = Ready();
  if (!s.ok()) return s;
  return Execute(st, params, out, what);
}

Status PgLog::Impl::Execute(Stmt st, pg::Params& params, pg::Result* out, std::string_view what) {
  pg::Result r(PQexecPrepared(conn_, StmtName(st), params.count(), params.values(),
                              params.lengths(), params.formats(), 1));
  const ExecStatusType rs = PQresultStatus(r.get());
  if (rs != PGRES_TUPLES_OK && rs != PGRES_COMMAND_OK) {
    Status s = pg::ErrorStatus(r.get(), conn_, what);
    if (PQstatus(conn_) != CONNECTION_OK) Drop();
    return s;
  }
  *out = std::move(r);
  return Status::OK();
}

Status PgLog::Impl::RunWaitingAtMost(Stmt st, pg::Params& params,
                                     std::chrono::milliseconds lock_wait, pg::Result* out,
                                     std::string_view what) {
  Status s = Ready();
  if (s.ok()) {
    s = Exec(fmt::format("BEGIN; SET LOCAL lock_timeout = {}", lock_wait.count()), nullptr, what);
  }
  if (!s.ok()) return s;
  s = Execute(st, params, out, what);  // (Run would reconnect: the transaction is open)
  if (!s.ok()) {
    if (conn_ != nullptr) Exec("ROLLBACK", nullptr, what).PermitUncheckedError();
    return s;
  }
  return Exec("COMMIT", nullptr, what);
}

Status PgLog::Impl::Exec(const std::string& sql, pg::Result* out, std::string_view what) {
  pg::Result r(PQexec(conn_, sql.c_str()));
  const ExecStatusType rs = PQresultStatus(r.get());
  if (rs != PGRES_TUPLES_OK && rs != PGRES_COMMAND_OK) {
    Status s = pg::ErrorStatus(r.get(), conn_, what);
    Drop();  // also ends the schema transaction, if any
    return s;
  }
  if (out != nullptr) *out = std::move(r);
  return Status::OK();
}

Status PgLog::Impl::CheckPartition(uint32_t partition) const {
  if (partition >= partitions_) {
    return Status::InvalidArgument(
        fmt::format("partition: {} is not below the log's {} partitions", partition, partitions_));
  }
  return Status::OK();
}

// Creates the schema if the database has none, else checks it; one transaction.
Status PgLog::Impl::EnsureSchema(const PgLogOptions& options) {
  Status s = Exec("BEGIN", nullptr, "postgres: schema");
  if (s.ok()) s = Exec(kSchemaLockSql, nullptr, "postgres: schema lock");
  pg::Result r;
  if (s.ok()) s = Exec("SELECT to_regclass('ledger_meta') IS NULL", &r, "postgres: schema");
  if (!s.ok()) return s;
  if (std::string_view(PQgetvalue(r.get(), 0, 0)) == "t") {
    if (!options.create_if_missing) {
      Drop();
      return Status::NotFound("postgres: the database holds no ledger log");
    }
    const uint32_t n = options.partitions == 0 ? kDefaultPgPartitions : options.partitions;
    s = Exec(pg::kSchemaSql, nullptr, "postgres: create schema");
    if (s.ok()) s = Exec(kNodesTableSql, nullptr, "postgres: create schema");
    if (s.ok()) {
      s = Exec(fmt::format("INSERT INTO ledger_meta VALUES ('format', '{}'), ('partitions', '{}');"
                           "INSERT INTO ledger_partitions (partition, last_position, "
                           "last_rejection) SELECT p, p::bigint << {}, p::bigint << {} "
                           "FROM generate_series(0, {}) AS p",
                           kFormatVersion, n, kPartitionShift, kPartitionShift, n - 1),
               nullptr, "postgres: create schema");
    }
    if (s.ok()) s = Exec("COMMIT", nullptr, "postgres: create schema");
    if (s.ok()) partitions_ = n;
    return s;
  }
  s = Exec("SELECT key, value FROM ledger_meta", &r, "postgres: read ledger_meta");
  if (!s.ok()) return s;
  std::string format;
  uint32_t n = 0;
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    const std::string_view key = PQgetvalue(r.get(), i, 0);
    const std::string_view value = PQgetvalue(r.get(), i, 1);
    if (key == "format") format = value;
    if (key == "partitions") std::from_chars(value.data(), value.data() + value.size(), n);
  }
  // Logs created before the node directory existed get it (writers only: a standby's
  // session is read-only, and a reader never asks the directory).
  if (s.ok() && options.create_if_missing) s = Exec(kNodesTableSql, nullptr, "postgres: schema");
  if (s.ok()) s = Exec("COMMIT", nullptr, "postgres: schema");
  if (!s.ok()) return s;
  if (format != kFormatVersion || n == 0) {
    return Status::Corruption(fmt::format(
        "postgres: ledger_meta has format '{}' and {} partitions; this build reads format {}",
        format, n, kFormatVersion));
  }
  if (options.partitions != 0 && options.partitions != n) {
    return Status::InvalidArgument(fmt::format(
        "partitions: the PostgreSQL log was created with {} partitions, not {} (the count is "
        "fixed at creation; pass {} or leave it out)",
        n, options.partitions, n));
  }
  partitions_ = n;
  return Status::OK();
}

// ---- PgLog

PgLog::PgLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PgLog::~PgLog() = default;

Status PgLog::Open(const std::string& conninfo, const PgLogOptions& options,
                   std::unique_ptr<PgLog>* log) {
  if (options.partitions > kMaxLogPartitions) {
    return Status::InvalidArgument(fmt::format("partitions: {} is more than the {} a log may have",
                                               options.partitions, kMaxLogPartitions));
  }
  auto impl = std::make_unique<Impl>(conninfo, 0);
  Status s = impl->Connect();
  if (s.ok()) s = impl->EnsureSchema(options);
  if (s.ok()) s = impl->Ready();
  if (!s.ok()) return s;
  log->reset(new PgLog(std::move(impl)));
  return Status::OK();
}

uint32_t PgLog::partitions() const { return impl_->partitions(); }

int PgLog::BackendPid() const { return impl_->conn() != nullptr ? PQbackendPID(impl_->conn()) : 0; }

Status PgLog::GetPartition(uint32_t partition, PgPartition* row) {
  Status s = impl_->CheckPartition(partition);
  if (!s.ok()) return s;
  pg::Params p;
  p.Int4(partition);
  pg::Result r;
  s = impl_->Run(Stmt::kGetPartition, p, &r, "postgres: read partition");
  if (!s.ok()) return s;
  if (PQntuples(r.get()) != 1) {
    return Status::Corruption(fmt::format("ledger_partitions: no row for partition {}", partition));
  }
  ReadPartitionRow(r.get(), 0, row);
  return Status::OK();
}

Status PgLog::AcquireLease(uint32_t partition, std::string_view node, std::chrono::milliseconds ttl,
                           PgPartition* row) {
  Status s = impl_->CheckPartition(partition);
  if (!s.ok()) return s;
  if (node.empty()) return Status::InvalidArgument("node: required");
  pg::Params p;
  p.Int4(partition);
  p.Bytes(node);
  p.Int8(static_cast<uint64_t>(ttl.count()));
  pg::Result r;
  for (int attempt = 1;; ++attempt) {
    s = impl_->RunWaitingAtMost(Stmt::kAcquire, p, kAcquireLockWait, &r, "postgres: acquire lease");
    if (!s.IsUnavailable()) break;
    // The row is free to take but stays locked: by a commit waiting for a slow standby,
    // or by one stalled inside its transaction (SIGSTOP, a frozen machine) whose locks
    // PostgreSQL keeps for as long as the session lives. Past its lease that transaction
    // could never pass the fence anyway: end its session, then take the row.
    if (attempt == kAcquireAttempts) {
      return Status::Unavailable(fmt::format(
          "partition {}: its row stays locked by the last owner's open transaction ({})", partition,
          s.message()));
    }
    s = EndStaleWriter(partition);
    if (!s.ok()) return s;
  }
  if (!s.ok()) return s;
  if (PQntuples(r.get()) == 1) {
    ReadPartitionRow(r.get(), 0, row);
    return Status::OK();
  }
  s = GetPartition(partition, row);
  if (!s.ok()) return s;
  return Status::Unavailable(fmt::format("partition {} is leased by '{}' until {}", partition,
                                         row->owner, FormatRfc3339(row->lease_until)));
}

Status PgLog::EndStaleWriter(uint32_t partition) {
  pg::Params p;
  p.Int4(partition);
  pg::Result r;
  return impl_->Run(Stmt::kEndStaleWriter, p, &r, "postgres: end a stale writer's session");
}

Status PgLog::RenewLease(uint32_t partition, std::string_view node, uint64_t epoch,
                         std::chrono::milliseconds ttl, PgPartition* row) {
  Status s = impl_->CheckPartition(partition);
  if (!s.ok()) return s;
  pg::Params p;
  p.Int4(partition);
  p.Bytes(node);
  p.Int8(epoch);
  p.Int8(static_cast<uint64_t>(ttl.count()));
  pg::Result r;
  s = impl_->Run(Stmt::kRenew, p, &r, "postgres: renew lease");
  if (!s.ok()) return s;
  if (PQntuples(r.get()) != 1) {
    return Status::Fenced(
        fmt::format("partition {}: '{}' no longer holds epoch {}", partition, node, epoch));
  }
  ReadPartitionRow(r.get(), 0, row);
  return Status::OK();
}

Status PgLog::ReleaseLease(uint32_t partition, std::string_view node, uint64_t epoch) {
  Status s = impl_->CheckPartition(partition);
  if (!s.ok()) return s;
  pg::Params p;
  p.Int4(partition);
  p.Bytes(node);
  p.Int8(epoch);
  pg::Result r;
  s = impl_->Run(Stmt::kRelease, p, &r, "postgres: release lease");
  if (!s.ok()) return s;
  if (std::string_view(PQcmdTuples(r.get())) != "1") {
    return Status::Fenced(
        fmt::format("partition {}: '{}' no longer holds epoch {}", partition, node, epoch));
  }
  return Status::OK();
}

Status PgLog::ReadPartition(uint32_t partition, uint64_t from, uint64_t to,
                            const std::function<bool(const PgEventView&)>& fn) {
  Status s = impl_->CheckPartition(partition);
  if (!s.ok()) return s;
  from = ClampInt8(from);
  to = ClampInt8(to);
  while (from <= to) {
    pg::Params p;
    p.Int4(partition);
    p.Int8(from);
    p.Int8(to);
    p.Int8(kPageRows);
    pg::Result r;
    s = impl_->Run(Stmt::kReadEvents, p, &r, "postgres: read events");
    if (!s.ok()) return s;
    const int n = PQntuples(r.get());
    for (int i = 0; i < n; ++i) {
      PgEventView e;
      e.position = pg::FieldInt8(r.get(), i, 0);
      e.tenant = pg::Field(r.get(), i, 1);
      e.version = pg::FieldInt8(r.get(), i, 2);
      e.bytes = pg::Field(r.get(), i, 3);
      if (!fn(e)) return Status::OK();
      from = e.position + 1;
    }
    if (static_cast<uint64_t>(n) < kPageRows) break;
  }
  return Status::OK();
}

Status PgLog::LookupCommand(std::string_view tenant, std::string_view command_id,
                            Digest* request_hash, AppendResult* result) {
  pg::Params p;
  p.Bytes(tenant);
  p.Bytes(command_id);
  pg::Result r;
  Status s = impl_->Run(Stmt::kLookupCommand, p, &r, "postgres: look up command");
  if (!s.ok()) return s;
  if (PQntuples(r.get()) == 0) return Status::NotFound("");
  s = records::DecodeCommand(pg::Field(r.get(), 0, 0), request_hash, result);
  if (!s.ok()) return s;
  result->command_id = std::string(command_id);
  return Status::OK();
}

Status PgLog::GetHead(std::string_view tenant, StreamHead* head) {
  pg::Params p;
  p.Bytes(tenant);
  pg::Result r;
  Status s = impl_->Run(Stmt::kGetHead, p, &r, "postgres: read head");
  if (!s.ok()) return s;
  *head = StreamHead();
  if (PQntuples(r.get()) == 0) return Status::OK();
  return DecodeHeadColumns(r.get(), 0, 0, head);
}

Status PgLog::ForEachHead(uint32_t partition,
                          const std::function<bool(std::string_view, const StreamHead&)>& fn) {
  Status s = impl_->CheckPartition(partition);
  if (!s.ok()) return s;
  std::string after;
  for (;;) {
    pg::Params p;
    p.Int4(partition);
    p.Bytes(after);
    p.Int8(kPageRows);
    pg::Result r;
    s = impl_->Run(Stmt::kHeadsOf, p, &r, "postgres: read heads");
    if (!s.ok()) return s;
    const int n = PQntuples(r.get());
    for (int i = 0; i < n; ++i) {
      StreamHead head;
      s = DecodeHeadColumns(r.get(), i, 1, &head);
      if (!s.ok()) return s;
      after = std::string(pg::Field(r.get(), i, 0));
      if (!fn(after, head)) return Status::OK();
    }
    if (static_cast<uint64_t>(n) < kPageRows) return Status::OK();
  }
}

Status PgLog::ForEachRejection(std::string_view tenant,
                               const std::function<bool(const RejectionRecord&)>& fn) {
  uint64_t after = 0;
  for (;;) {
    pg::Params p;
    p.Bytes(tenant);
    p.Int8(after);
    p.Int8(kPageRows);
    pg::Result r;
    Status s = impl_->Run(Stmt::kRejectionsOf, p, &r, "postgres: read rejections");
    if (!s.ok()) return s;
    const int n = PQntuples(r.get());
    for (int i = 0; i < n; ++i) {
      RejectionRecord record;
      s = records::DecodeRejection(pg::Field(r.get(), i, 1), &record);
      if (!s.ok()) return s;
      after = record.sequence = pg::FieldInt8(r.get(), i, 0);
      if (!fn(record)) return Status::OK();
    }
    if (static_cast<uint64_t>(n) < kPageRows) return Status::OK();
  }
}

Status PgLog::GetSideRow(uint32_t partition, std::string_view table, std::string_view key,
                         std::string* value) {
  Status s = impl_->CheckPartition(partition);
  if (!s.ok()) return s;
  pg::Params p;
  p.Int4(partition);
  p.Bytes(table);
  p.Bytes(key);
  pg::Result r;
  s = impl_->Run(Stmt::kGetSideRow, p, &r, "postgres: read side row");
  if (!s.ok()) return s;
  if (PQntuples(r.get()) == 0) return Status::NotFound("");
  *value = std::string(pg::Field(r.get(), 0, 0));
  return Status::OK();
}

Status PgLog::ReadCommandsSince(uint32_t partition, uint64_t after_position,
                                const std::function<bool(const LogCommand&)>& fn) {
  Status s = impl_->CheckPartition(partition);
  if (!s.ok()) return s;
  // Keyset pages over (after_position, tenant, command_id). Tenants are never empty, so
  // every record at `after_position` sorts after (after_position, '', '').
  uint64_t at = after_position;
  std::string tenant, id;
  for (;;) {
    pg::Params p;
    p.Int4(partition);
    p.Int8(at);
    p.Bytes(tenant);
    p.Bytes(id);
    p.Int8(kPageRows);
    pg::Result r;
    s = impl_->Run(Stmt::kCommandsSince, p, &r, "postgres: read command records");
    if (!s.ok()) return s;
    const int n = PQntuples(r.get());
    for (int i = 0; i < n; ++i) {
      at = pg::FieldInt8(r.get(), i, 0);
      tenant = std::string(pg::Field(r.get(), i, 1));
      id = std::string(pg::Field(r.get(), i, 2));
      LogCommand c;
      s = records::DecodeCommand(pg::Field(r.get(), i, 3), &c.request_hash, &c.result);
      if (!s.ok()) return s;
      c.tenant = tenant;
      c.command_id = id;
      c.result.command_id = id;
      if (!fn(c)) return Status::OK();
    }
    if (static_cast<uint64_t>(n) < kPageRows) return Status::OK();
  }
}

Status PgLog::ReadRejectionsSince(uint32_t partition, uint64_t after,
                                  const std::function<bool(const RejectionRecord&)>& fn) {
  Status s = impl_->CheckPartition(partition);
  if (!s.ok()) return s;
  for (;;) {
    pg::Params p;
    p.Int4(partition);
    p.Int8(after);
    p.Int8(kPageRows);
    pg::Result r;
    s = impl_->Run(Stmt::kRejectionsSince, p, &r, "postgres: read rejections");
    if (!s.ok()) return s;
    const int n = PQntuples(r.get());
    for (int i = 0; i < n; ++i) {
      RejectionRecord record;
      s = records::DecodeRejection(pg::Field(r.get(), i, 1), &record);
      if (!s.ok()) return s;
      after = record.sequence = pg::FieldInt8(r.get(), i, 0);
      if (!fn(record)) return Status::OK();
    }
    if (static_cast<uint64_t>(n) < kPageRows) return Status::OK();
  }
}

Status PgLog::ForEachSideRow(
    uint32_t partition,
    const std::function<bool(std::string_view, std::string_view, std::string_view)>& fn) {
  Status s = impl_->CheckPartition(partition);
  if (!s.ok()) return s;
  std::string table, key;
  for (;;) {
    pg::Params p;
    p.Int4(partition);
    p.Bytes(table);
    p.Bytes(key);
    p.Int8(kPageRows);
    pg::Result r;
    s = impl_->Run(Stmt::kSideRowsOf, p, &r, "postgres: read side rows");
    if (!s.ok()) return s;
    const int n = PQntuples(r.get());
    for (int i = 0; i < n; ++i) {
      table = std::string(pg::Field(r.get(), i, 0));
      key = std::string(pg::Field(r.get(), i, 1));
      if (!fn(table, key, pg::Field(r.get(), i, 2))) return Status::OK();
    }
    if (static_cast<uint64_t>(n) < kPageRows) return Status::OK();
  }
}

Status PgLog::SettleSetting(std::string_view key, std::string_view if_absent, std::string* value) {
  pg::Params p;
  p.Bytes(key);
  p.Bytes(if_absent);
  pg::Result r;
  Status s = impl_->Run(Stmt::kSettleMeta, p, &r, "postgres: settle a setting");
  if (!s.ok()) return s;
  if (PQntuples(r.get()) != 1)
    return Status::Corruption("ledger_meta: no row for " + std::string(key));
  *value = std::string(pg::Field(r.get(), 0, 0));
  return Status::OK();
}

Status PgLog::GetSetting(std::string_view key, std::string* value) {
  pg::Params p;
  p.Bytes(key);
  pg::Result r;
  Status s = impl_->Run(Stmt::kGetMeta, p, &r, "postgres: read a setting");
  if (!s.ok()) return s;
  if (PQntuples(r.get()) == 0) return Status::NotFound("");
  *value = std::string(pg::Field(r.get(), 0, 0));
  return Status::OK();
}

}  // namespace ledger
