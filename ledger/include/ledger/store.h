// ledger::Store — the event log on RocksDB: durable, group-committed, idempotent appends
// with per-tenant stream versions, global positions and a per-tenant SHA-256 hash chain.
//
// Thread-safe: any number of threads may append and read concurrently. Appends are queued
// and committed by a single writer: it validates the queued requests in order, writes one
// synced WriteBatch for all of them, and completes every caller (leveldb's group commit,
// pipelined: the next group is validated while the previous one syncs). A returned OK
// means durable.
//
// A failed write is sticky: afterwards every append fails with Unavailable until the
// store is reopened (a failed fsync may or may not have persisted the data). A write that
// failed because the disk is full is the exception: appends fail with Unavailable until
// space is freed, then the store resumes by itself (RocksDB flushes its memtables to a
// new WAL, the writer reloads its state from what is durable).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/clock.h"
#include "ledger/event.h"
#include "ledger/projector.h"
#include "ledger/rows.h"
#include "ledger/sha256.h"
#include "ledger/status.h"
#include "ledger/time.h"

namespace rocksdb {
class Env;
}

namespace ledger {

struct BackupInfo;  // ledger/backup.h
class UpstreamLog;  // ledger/upstream.h

// The head of one tenant's stream: its last version and hash (zeros when empty).
struct StreamHead {
  uint64_t version = 0;
  uint64_t position = 0;  // global position of the last event, 0 when empty
  Digest hash{};
};

// A business rejection: a code from DESIGN 6.1 ("conflict", "idempotency_key_reused",
// "bad_request", ...) and a message naming the problem.
struct Rejected {
  std::string code;
  std::string message;
};

// What a decide function concluded for one command.
struct Decision {
  // Events that fell due before the command (time-driven effects, R15). They are
  // appended first, as their own command `prelude_command_id` (actor "system"), even if
  // the command itself is rejected.
  std::vector<EventDraft> prelude;
  std::string prelude_command_id;
  // The command's own events, or why it is rejected.
  std::vector<EventDraft> events;
  std::optional<Rejected> rejection;
  // A dry run: nothing is recorded for the command (no events, no idempotency record, no
  // rejection); the prelude and the side-table rows below still are.
  bool discard = false;
  // Rows of side tables (StoreOptions::side_tables) written with the command's group
  // unless the command is rejected — e.g. the live-lease table of R19, whose heartbeats
  // are not events but whose latest expiry must survive a restart.
  std::vector<RowWrite> rows;
  // Side-table rows that go with the prelude: written whatever becomes of the command.
  std::vector<RowWrite> prelude_rows;
};

// Decides a command's events inside the writer, in commit order, against the stream head
// as it stands after every earlier request (including earlier ones of the same group).
// Runs on the store's builder thread: must not block or call back into the store.
using DecideFn = std::function<Decision(const StreamHead& head, Micros now)>;

// One command's worth of events to append atomically.
struct AppendRequest {
  std::string tenant;
  // Idempotency key, unique within the tenant forever (R16). Required.
  std::string command_id;
  // Hash of the request's content; same id + different hash → idempotency_key_reused.
  Digest request_hash{};
  // False for requests that are idempotent by nature and record nothing under their id
  // (heartbeats, R19): the idempotency lookup is skipped. Their decision must discard.
  bool check_idempotency = true;
  // Rejected with "conflict" unless the stream is at exactly this version (R17).
  std::optional<uint64_t> expected_version;
  // Manual clock: the command's time, which must not go backwards. Must be unset with
  // the system clock (bad_request).
  std::optional<Micros> at;
  // For the rejection log if the request is rejected.
  std::string actor;
  std::string command_type;
  std::string command_json;
  // The events, in order. Ignored when `decide` is set.
  std::vector<EventDraft> events;
  // Optional: decides the events in the writer instead of `events`.
  DecideFn decide;
  // Optional: called on the builder thread with every event of this request (prelude
  // included) as encoded, in order, before the next request is decided. Lets a decider
  // keep its state current. Must not block or call back into the store.
  std::function<void(schema::Event::Reader)> on_encoded;
};

// One appended event as reported back to the caller.
struct AppendedEvent {
  uint64_t position = 0;
  uint64_t version = 0;
  std::string type;
};

// The business outcome of an append.
struct AppendResult {
  enum class Kind { kAccepted, kDuplicate, kRejected };
  Kind kind = Kind::kRejected;
  std::string command_id;
  // Accepted/duplicate: the stream version after the command and the position of its
  // last event (the head's position if it appended nothing).
  uint64_t version = 0;
  uint64_t position = 0;
  Micros recorded_at = 0;
  std::vector<AppendedEvent> events;
  // Rejected: why.
  Rejected rejection;
};

// Receives the outcome of an asynchronous append once it is durable (OK, with the
// result) or has failed (not OK). Runs on the store's completion thread, in commit order:
// it must be quick, must not block, and must not call the blocking Append (AppendAsync
// is fine).
using AppendCallback = std::function<void(const Status& status, AppendResult& result)>;

// A rejected command as kept in the rejection log (R3).
struct RejectionRecord {
  uint64_t sequence = 0;  // global order of rejections, from 1
  std::string tenant;
  std::string command_id;
  std::string command_type;
  std::string actor;
  std::string code;
  std::string message;
  Micros at = 0;
  std::string command_json;
};

// Streams stored events in order, holding one bounded batch in memory at a time.
// Not thread-safe; the store must outlive it.
class EventCursor {
 public:
  virtual ~EventCursor() = default;
  // True while positioned on an event.
  virtual bool Valid() const = 0;
  // The current event. REQUIRES: Valid().
  virtual const StoredEvent& event() const = 0;
  // Moves to the next event. REQUIRES: Valid().
  virtual void Next() = 0;
  // Not OK if reading failed (the cursor is then not Valid()).
  virtual Status status() const = 0;
};

// Counters of the writer since the store was opened (for metrics and benchmarks).
struct StoreStats {
  uint64_t groups = 0;                  // synced WriteBatches written
  uint64_t requests = 0;                // appends and rejections committed in those groups
  uint64_t events = 0;                  // events appended
  uint64_t build_micros = 0;            // leader time validating and encoding groups
  uint64_t write_micros = 0;            // time in the synced RocksDB writes of groups
  uint64_t upstream_commit_micros = 0;  // time committing groups to the upstream log
  uint64_t recoveries = 0;              // times writes resumed after the disk had been full
  // Groups by size: group_sizes[i] counts groups of at most 2^i requests (and more than
  // 2^(i-1)); the last bucket takes every larger group.
  static constexpr size_t kSizeBuckets = 13;  // 1, 2, 4, ... 4096
  std::array<uint64_t, kSizeBuckets> group_sizes{};
  // On an upstream log (DESIGN section 7): whether this store holds the right to write it
  // (false: another node writes and this copy follows), the events the log held past this
  // copy at the last look, and the seconds since this copy last matched the log.
  bool upstream = false;  // the store materializes an upstream log
  bool writes_upstream = false;
  uint64_t upstream_lag_events = 0;
  double upstream_lag_seconds = 0;
  uint64_t upstream_takeovers = 0;   // times this store took the right to write after open
  uint32_t upstream_partitions = 0;  // partitions of the log (ledger/log_partitions.h)
  uint32_t upstream_leases = 0;      // of them, those this store holds the right to write
};

// Options for Store::Open.
struct StoreOptions {
  // Clock mode for a new ledger; an existing ledger keeps the mode it was created with.
  ClockMode clock_mode_if_new = ClockMode::kSystem;
  // RocksDB Env (tests: an in-memory or fault-injecting Env). nullptr = Env::Default().
  rocksdb::Env* env = nullptr;
  // Most requests committed in one group (one synced WriteBatch).
  size_t max_group_requests = 4096;
  // Most bytes of events in one group before the rest waits for the next.
  size_t max_group_bytes = 8u << 20;
  // Open without writing (replay tools): appends fail with Unavailable.
  bool read_only = false;
  // With read_only: open as a RocksDB secondary instance keeping its own files here, which
  // is safe while another process writes the ledger (it sees the ledger as of the open).
  std::string secondary_path;
  // Projections maintained in the same batch as the events (see ledger/projector.h).
  std::vector<std::shared_ptr<Projector>> projectors;
  // Side tables the layers above keep beside the log (rows written by Decision::rows),
  // created with the store when missing. A read-only open opens those that exist. A row's
  // key starts with its tenant's id and \0: on a partitioned log it belongs to the
  // tenant's partition.
  std::vector<std::string> side_tables;
  // Memory for point reads (view rows, heads): a row cache of recently read values in
  // front of a shared block cache, each this size. 0 = RocksDB's defaults.
  size_t read_cache_bytes = 64u << 20;
  // Memory for every family's memtables together (writers); 0 = no common bound.
  size_t memtable_budget_bytes = 128u << 20;
  // Most table files a writer keeps open (RocksDB's table cache; the least recently used
  // is closed past it), so descriptors stay bounded however large the ledger grows.
  // -1 = all of them (read-only instances always use -1: secondaries need it).
  int max_open_tables = 512;
  // Drop and rebuild every projector's rows from the log at open (ledger-replay rebuild).
  bool rebuild_projections = false;
  // Where long rebuilds report progress; nullptr = stderr.
  std::function<void(const std::string&)> progress;
  // The durable log this store materializes (DESIGN section 7: the log on PostgreSQL),
  // or nullptr for the embedded store, whose RocksDB is the log. With one, the open
  // takes the right to write and catches the local files up with the log, and every
  // group is committed there before it is written here.
  std::shared_ptr<UpstreamLog> upstream;
  // With `upstream`: copy the log without taking the right to write it (ledger-replay
  // and ledgerctl reading a log that nodes write); appends fail with Unavailable.
  bool upstream_read_only = false;
  // With `upstream`: while another node holds the right to write, open as a follower
  // instead of failing with Unavailable. A follower applies the log to the local copy
  // every `follow_interval` (checks and reads are answered locally) and takes the right to
  // write as soon as it is free (the holder died or stopped); until then appends fail with
  // Unavailable naming the writer. A writer fenced by another node becomes a follower.
  bool upstream_follow = false;
  std::chrono::milliseconds follow_interval{200};
  // With `upstream` and `upstream_follow`: the partitions this node should write now
  // (true at index p), asked every `follow_interval` — how ledgerd spreads the partitions
  // over its live nodes. The store takes those it is given when they are free, gives up
  // those it no longer is, and follows the others; a command for a partition it does not
  // write fails with Unavailable naming that partition's writer. Unset: one node writes
  // every partition (the first to take partition 0) and the others follow it whole.
  std::function<std::vector<bool>()> upstream_placement;
};

// Part of the message of an append refused because another node writes the tenant's
// partition of the upstream log (StoreOptions::upstream_placement); nothing was decided,
// so a forwarder sends the command again to that partition's writer.
inline constexpr char kNotThisNodesPartition[] = "this node does not write the partition";

class Store {
 public:
  // Opens (creating if missing) the ledger in directory `path`.
  static Status Open(const StoreOptions& options, const std::string& path,
                     std::unique_ptr<Store>* store);

  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  // Waits for in-flight appends, then closes the database.
  ~Store();

  // Appends one command's events atomically, or nothing. OK with result->kind telling
  // accepted / duplicate / rejected; a non-OK Status means the write failed (nothing was
  // acknowledged; the store now refuses writes) or the store is unavailable.
  Status Append(AppendRequest request, AppendResult* result);

  // Like Append, without blocking: `done` is called once the append is durable or failed.
  void AppendAsync(AppendRequest request, AppendCallback done);

  // Records a command rejected before reaching the store (bad_request, forbidden, ...).
  // Durable when OK is returned; goes through the same group commit as appends.
  Status RecordRejection(RejectionRecord record);
  // Like RecordRejection, without blocking; `done` gets the status (result unused).
  void RecordRejectionAsync(RejectionRecord record, AppendCallback done);

  // The clock mode fixed when the ledger was created.
  ClockMode clock_mode() const;
  // True when opened read-only (or as a secondary): what it reads never changes.
  bool read_only() const;
  // The ledger's current time: the latest time it stamped (manual mode: the latest `at`).
  Micros LedgerTime() const;

  // The tenant's stream head (version 0 if the tenant has no events).
  Status GetHead(std::string_view tenant, StreamHead* head) const;
  // Calls `fn(tenant, head)` for every tenant in id order until it returns false.
  Status ForEachHead(const std::function<bool(std::string_view, const StreamHead&)>& fn) const;
  // Calls `fn(tenant, version, position)` for every entry of the stream index, in
  // (tenant, version) order, until it returns false. For verification.
  Status ScanStreamIndex(const std::function<bool(std::string_view, uint64_t, uint64_t)>& fn) const;
  // Highest position written (0 when empty). On a log of one partition (every embedded
  // ledger) positions run 1..LastPosition() without gaps; on a partitioned copy see
  // LogFrontier.
  uint64_t LastPosition() const;
  // Each partition's last position, in partition order (ledger/log_partitions.h): the
  // log holds positions PartitionBase(p)+1 .. frontier[p] of each partition p, without
  // gaps. One entry (LastPosition()) for an embedded ledger.
  std::vector<uint64_t> LogFrontier() const;
  // Changes each time the writer forgets what it built past the durable log and reloads
  // its state (after a failed or refused group, or on taking over the upstream log):
  // state a caller derived from appended-but-not-durable events, or from a log another
  // writer has since extended, is stale then. Read on the writer's thread (Decide).
  uint64_t WriterGeneration() const;

  // Events at positions [from, to], in position order (partition by partition).
  std::unique_ptr<EventCursor> ReadLog(uint64_t from, uint64_t to = UINT64_MAX) const;
  // The stored bytes of the events at positions [from, to], in order, without decoding
  // them (for bulk readers that decode elsewhere): calls `fn(position, bytes)` until it
  // returns false. `bytes` is valid only during the call.
  Status ScanLog(uint64_t from, uint64_t to,
                 const std::function<bool(uint64_t, std::string_view)>& fn) const;
  // Events of one tenant at stream versions [from, to], in order.
  std::unique_ptr<EventCursor> ReadStream(std::string_view tenant, uint64_t from = 1,
                                          uint64_t to = UINT64_MAX) const;

  // The stored checkpoint of projector `name`. NotFound if it has none.
  Status GetProjectionCheckpoint(const std::string& name, ProjectionCheckpoint* out) const;

  // The idempotency record of a command: the result it got. NotFound if unknown.
  Status LookupCommand(std::string_view tenant, std::string_view command_id,
                       AppendResult* result) const;

  // Calls `fn` for each rejection of `tenant`, oldest first, until it returns false.
  Status ForEachRejection(std::string_view tenant,
                          const std::function<bool(const RejectionRecord&)>& fn) const;

  // The id of the side table or projection table `name` (any table the store opened).
  // NotFound if it has none by that name (a read-only open of a ledger without it).
  Status FindTable(std::string_view name, TableId* table) const;
  // Reads side tables and projection tables; lives as long as the store.
  const RowReader& rows() const;

  // Not OK once a write has failed (sticky until reopened; a full disk: until the next
  // append after space was freed), and Unavailable while this copy of an upstream log
  // follows another node's writes (StoreOptions::upstream_follow).
  Status WriteHealth() const;

  // With an upstream log: true while this copy follows another node's writes (commands go
  // to that node, UpstreamWriter()).
  bool FollowsUpstream() const;
  // The node that writes the upstream log as this copy last saw it ("" = none known); with
  // a placement, the writer of partition 0.
  std::string UpstreamWriter() const;
  // From a decide only (AppendRequest::decide, on the writer's thread): brings this
  // copy's partition of `tenant` up to the upstream log now when another node writes it
  // (with a placement), so that a decision that reads another partition's stream — the
  // product catalog — sees what that partition's writer acknowledged. Waits for the group
  // being written first. OK at once when this node writes the partition or has no log.
  Status CatchUpPartitionOf(std::string_view tenant);
  // Whether this store takes commands for `tenant` (its partition's right to write is
  // held here): always on an embedded ledger; on an upstream log, when this node writes
  // the tenant's partition.
  bool WritesTenant(std::string_view tenant) const;
  // Whether this store writes a share of the upstream log's partitions, chosen by a
  // placement (StoreOptions::upstream_placement), so that other nodes write the rest.
  bool SpreadsPartitions() const;
  // The node that writes `tenant`'s partition of the upstream log, as this copy last saw
  // it ("" = none known).
  std::string UpstreamWriterOf(std::string_view tenant) const;
  // Waits until this copy holds position `position` (a follower pulls the log at once,
  // not at its next interval), so that a command the writer acknowledged is visible to
  // reads here. Unavailable if it does not within `timeout`.
  Status AwaitPosition(uint64_t position, std::chrono::milliseconds timeout);

  // Writer counters since open.
  StoreStats Stats() const;

  // Takes a backup of the ledger into the backup directory `backup_dir` (created if
  // missing; see ledger/backup.h) while appends go on, and describes it in `info` (may be
  // null). The backup holds whole groups: it is cut between two group writes. The
  // memtables are flushed first, so the backup is mostly table files, which later backups
  // into the same directory share. One backup at a time per store (others wait).
  // REQUIRES: not read_only(); `backup_dir` outside the ledger's directory.
  Status Backup(const std::string& backup_dir, BackupInfo* info);

  class Impl;

 private:
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ledger
