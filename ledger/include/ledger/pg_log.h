// ledger::PgLog — the event log on PostgreSQL 15 (DESIGN section 7): partitions, leases
// with fencing epochs, and group commit as one transaction per group.
//
// Tenants hash to a fixed number of partitions (LogPartitionOf, ledger/log_partitions.h);
// positions carry their partition, so partition p's run starts after PartitionBase(p). Each
// partition has one writer at a time: the node holding its lease, at an epoch that grows with every
// acquisition. A group commits only if the partition is still at the writer's epoch and
// last position (the fence), so a writer that lost its lease, or a second writer, commits
// nothing. Events keep the RocksDB store's canonical bytes, so hashes and `verify` are
// the same on both stores. Schema: ledger/sql/pg_log_schema.sql.
//
// Only ledger/ names libpq: callers see ledger-owned types.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/log_group.h"
#include "ledger/log_partitions.h"
#include "ledger/sha256.h"
#include "ledger/status.h"
#include "ledger/store.h"
#include "ledger/time.h"

namespace ledger {

// Partitions of a log created without an explicit count.
inline constexpr uint32_t kDefaultPgPartitions = 16;

// Options for PgLog::Open.
struct PgLogOptions {
  // Partitions of a new log (1..kMaxLogPartitions); 0 = kDefaultPgPartitions. An existing log keeps
  // the count it was created with: a nonzero value that differs is InvalidArgument; 0 accepts any.
  uint32_t partitions = 0;
  // Create the schema in a database that has none (false: NotFound instead, for readers).
  bool create_if_missing = true;
};

// A partition's row: its lease and how far its log goes.
struct PgPartition {
  uint32_t partition = 0;
  std::string owner;       // node holding (or last holding) the lease; "" = never leased
  uint64_t epoch = 0;      // grows by one with every acquisition
  Micros lease_until = 0;  // the database's clock; the lease is free from then on
  uint64_t last_position = 0;
  uint64_t last_rejection = 0;
  Micros ledger_time = 0;  // the latest committed group's ledger time
};

// A ledgerd node of the log and where it listens (the node directory, ledger_nodes).
struct PgNode {
  std::string name;
  std::string capnp;  // HOST:PORT of its Cap'n Proto listener
  std::string http;   // HOST:PORT of its HTTP listener
  bool tls = false;   // its Cap'n Proto listener speaks TLS
};

// A group's parts, as the store's writer builds them (ledger/log_group.h).
using PgEvent = LogEvent;
using PgCommandRecord = LogCommand;
using PgSideRow = LogSideRow;
using PgHead = LogHead;
using PgGroup = LogGroup;

// One partition's part of a multi-partition commit (CommitGroups).
struct PgPartitionCommit {
  uint32_t partition = 0;
  uint64_t epoch = 0;                   // the writer's lease on the partition
  uint64_t expected_last_position = 0;  // the partition's last position before the group
  const PgGroup* group = nullptr;       // its tenants all belong to `partition`
};

// A stored event as ReadPartition reports it; views are valid only during the callback.
struct PgEventView {
  uint64_t position = 0;
  std::string_view tenant;
  uint64_t version = 0;
  std::string_view bytes;
};

// A client of the log: one connection, reconnected when lost.
// Not thread-safe: use one PgLog per thread (the writer, each follower, each reader).
class PgLog {
 public:
  // Connects to `conninfo` (a libpq connection string; multi-host strings with
  // target_session_attrs=read-write follow a failover) and creates the schema if the
  // database has none. InvalidArgument if the log has another partition count.
  static Status Open(const std::string& conninfo, const PgLogOptions& options,
                     std::unique_ptr<PgLog>* log);

  PgLog(const PgLog&) = delete;
  PgLog& operator=(const PgLog&) = delete;
  ~PgLog();

  // The partition count fixed when the log was created.
  uint32_t partitions() const;

  // Starts a writer incarnation on `partition` for `node`: takes the lease if it is free,
  // expired or already `node`'s (a restarted node fences its predecessor), always at a
  // new epoch, until `ttl` from now on the database's clock. OK: *row is the partition as
  // taken (write at row->epoch from row->last_position). Unavailable: another node holds
  // it (*row says who and until when), or its row stays locked by an open transaction. A
  // transaction of a writer past its lease that keeps the row locked (the writer stopped
  // mid-commit) has its session ended: it could never pass the fence.
  Status AcquireLease(uint32_t partition, std::string_view node, std::chrono::milliseconds ttl,
                      PgPartition* row);
  // Extends the lease `node` holds at `epoch` to `ttl` from now (even if it had expired,
  // as long as nobody took it). Fenced if another acquisition came first.
  Status RenewLease(uint32_t partition, std::string_view node, uint64_t epoch,
                    std::chrono::milliseconds ttl, PgPartition* row);
  // Gives the lease up at once (a clean shutdown, a partition placed on another node): the
  // row is then ownerless. Fenced if it was no longer held.
  Status ReleaseLease(uint32_t partition, std::string_view node, uint64_t epoch);
  // The partition's row as committed.
  Status GetPartition(uint32_t partition, PgPartition* row);

  // Commits `group` to `partition` as one transaction, only if the partition is at
  // `epoch` and `expected_last_position` (and, if the group has rejections, at the
  // rejection before its first). OK: durable (committed; with synchronous replication,
  // on the standbys too). Fenced: another writer holds the partition; nothing was
  // written (the writer answers its waiters `unavailable` and reloads). OutcomeUnknown:
  // the answer was lost (connection dropped, synchronous-replication wait cancelled);
  // the group may or may not be in the log: read it again before answering anyone.
  // InvalidArgument: the group is malformed, or repeats keys the log holds (a command id,
  // a stream version); nothing was written. IOError: failed, nothing was written.
  Status CommitGroup(uint32_t partition, uint64_t epoch, uint64_t expected_last_position,
                     const PgGroup& group);
  // CommitGroup for a writer holding several partitions: every part in one transaction
  // (one round trip, one synchronous-replication wait), each part fenced on its own
  // partition; any fence or error rolls all of them back. Partitions must differ.
  Status CommitGroups(const std::vector<PgPartitionCommit>& parts);

  // Calls `fn` with the events of `partition` at positions [from, to] in position order,
  // reading a bounded page at a time, until it returns false.
  Status ReadPartition(uint32_t partition, uint64_t from, uint64_t to,
                       const std::function<bool(const PgEventView&)>& fn);

  // The idempotency record of a command. NotFound if the log has none.
  Status LookupCommand(std::string_view tenant, std::string_view command_id, Digest* request_hash,
                       AppendResult* result);
  // The tenant's stream head (version 0 if it has no events).
  Status GetHead(std::string_view tenant, StreamHead* head);
  // Calls `fn(tenant, head)` for every tenant of `partition` in id order until it returns
  // false (a writer reloading its state).
  Status ForEachHead(uint32_t partition,
                     const std::function<bool(std::string_view, const StreamHead&)>& fn);
  // Calls `fn` for each rejection of `tenant`, oldest first, until it returns false.
  // Sequences are per partition.
  Status ForEachRejection(std::string_view tenant,
                          const std::function<bool(const RejectionRecord&)>& fn);
  // Calls `fn` with the record of every command of `partition` whose group was committed
  // on top of position `after_position` or later, in commit order, until it returns false
  // (a node copying the log: the records of the groups it lacks).
  Status ReadCommandsSince(uint32_t partition, uint64_t after_position,
                           const std::function<bool(const LogCommand&)>& fn);
  // Calls `fn` with the rejections of `partition` after sequence `after`, in order, until
  // it returns false.
  Status ReadRejectionsSince(uint32_t partition, uint64_t after,
                             const std::function<bool(const RejectionRecord&)>& fn);
  // Calls `fn(table, key, value)` for every side-table row of `partition`, until it
  // returns false.
  Status ForEachSideRow(
      uint32_t partition,
      const std::function<bool(std::string_view, std::string_view, std::string_view)>& fn);
  // The log-wide setting `key` (e.g. "clock_mode"): set to `if_absent` by the first node
  // that asks, the same for every node after. *value gets the setting.
  Status SettleSetting(std::string_view key, std::string_view if_absent, std::string* value);
  // The log-wide setting `key` without setting it (readers). NotFound if never set.
  Status GetSetting(std::string_view key, std::string* value);
  // Reads a side-table row of `partition`. NotFound if absent.
  Status GetSideRow(uint32_t partition, std::string_view table, std::string_view key,
                    std::string* value);

  // Records where `node` listens (replacing what it said before): a node says so once it
  // serves, so that the others can forward commands to it while it writes the log.
  Status AdvertiseNode(const PgNode& node);
  // Where the node `name` said it listens. NotFound if it never said.
  Status FindNode(std::string_view name, PgNode* node);
  // The nodes that said where they listen within the last `within` (AdvertiseNode is
  // repeated as a heartbeat), by name.
  Status LiveNodes(std::chrono::milliseconds within, std::vector<std::string>* names);

  // The server process of the current connection (0 when not connected): for operators'
  // pg_stat_activity and for tests that kill it.
  int BackendPid() const;

  class Impl;

 private:
  explicit PgLog(std::unique_ptr<Impl> impl);
  // Ends the session whose open transaction locks `partition`'s row, if its lease ended.
  Status EndStaleWriter(uint32_t partition);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ledger
