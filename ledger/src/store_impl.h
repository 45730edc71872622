// Store::Impl: the RocksDB handles and the writer pipeline (internal).
//
// Appends flow through three threads owned by the store:
//   callers ─Submit─► queue_ ─builder─► ready_ ─syncer─► completed_ ─completer─► callbacks
// The builder validates requests in order and encodes them into one WriteBatch per group;
// while the syncer writes group N with one synced write, the builder keeps absorbing new
// requests into group N+1. Callbacks run on the completer thread once their group is
// durable, in commit order.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "ledger/clock.h"
#include "ledger/log_group.h"
#include "ledger/log_partitions.h"
#include "ledger/store.h"
#include "ledger/upstream.h"
#include "rocks_rows.h"
#include "rocks_status.h"

namespace ledger {

// One queued append (or rejection record) and where its outcome goes.
struct QueuedWrite {
  AppendRequest request;
  std::optional<RejectionRecord> rejection;  // set: record this rejection instead
  AppendResult result;
  AppendCallback done;
  size_t bytes = 0;  // estimate, for group limits
};

// What one group commits to one partition of an upstream log.
struct PartitionLog {
  uint32_t partition = 0;
  uint64_t after_position = 0;  // the partition's last position before the group
  LogGroup log;
};

// A group validated and encoded by the builder, waiting for the syncer.
struct PreparedGroup {
  rocksdb::WriteBatch batch;
  std::vector<std::unique_ptr<QueuedWrite>> writes;
  std::vector<std::string> inflight_keys;  // command keys to forget once durable
  // (partition, its last position after this group) for each partition that grew.
  std::vector<std::pair<uint32_t, uint64_t>> last_positions;
  uint64_t events = 0;
  Micros time = 0;
  Status status;          // not OK: fail every write of the group without writing
  bool empty = true;      // nothing to write (duplicates only)
  bool no_space = false;  // the write failed because the disk is full
  // With an upstream log: what the group commits to each partition it touches, and
  // whether that commit failed (the writer then reads the log again).
  std::vector<PartitionLog> parts;
  bool upstream_failed = false;
  bool outcome_unknown = false;  // the log's answer was lost: it may hold the group
};

// A command accepted by a group that is not yet durable, for idempotency checks of the
// groups built behind it.
struct InflightCommand {
  Digest hash;
  AppendResult result;
};

class Store::Impl {
 public:
  ~Impl();

  Status Open(const StoreOptions& options, const std::string& path);
  // Each partition's durable last position, partitions 0..partitions-1.
  std::vector<uint64_t> Frontier() const;
  // Publishes partition `p`'s durable last position (writers: the syncer or a pull).
  void PublishLast(uint32_t p, uint64_t position);
  // Pulls the log now (a follower) and waits until the local copy holds `position`.
  Status AwaitPosition(uint64_t position, std::chrono::milliseconds timeout);

  // Queues a write; `w->done` is called once it is durable or failed.
  void Submit(std::unique_ptr<QueuedWrite> w);

  // A cursor over `tenant`'s stream, versions [from, to].
  std::unique_ptr<EventCursor> NewStreamCursor(std::string_view tenant, uint64_t from,
                                               uint64_t to) const;
  // NewStreamCursor as a projector's StreamReader.
  StreamReader StreamReaderFor() const;

  // Not OK once a group failed to write.
  Status WriteHealth();
  // Whether this store may write partition `p`: always when embedded; on an upstream log
  // with a placement, when it holds the partition; without one, when it writes the log.
  bool WritesPartition(uint32_t p) const {
    if (options.upstream == nullptr) return true;
    if (Placed()) return owned[p].load();
    return !follows.load();
  }
  // Whether this store writes the partition of `w`'s tenant (with a placement).
  bool OwnsTenantOf(const QueuedWrite& w) const {
    const std::string& tenant = w.rejection ? w.rejection->tenant : w.request.tenant;
    return owned[LogPartitionOf(tenant, partitions)].load();
  }
  // Whether this store is on an upstream log with a placement.
  bool Placed() const { return static_cast<bool>(options.upstream_placement); }
  // Store::CatchUpPartitionOf (builder thread, inside a decide; mu_ not held).
  Status PullPartitionNow(uint32_t partition);

  // Column families.
  rocksdb::ColumnFamilyHandle* meta = nullptr;
  rocksdb::ColumnFamilyHandle* events = nullptr;
  rocksdb::ColumnFamilyHandle* streams = nullptr;
  rocksdb::ColumnFamilyHandle* commands = nullptr;
  rocksdb::ColumnFamilyHandle* heads = nullptr;
  rocksdb::ColumnFamilyHandle* rejections = nullptr;
  rocksdb::ColumnFamilyHandle* checkpoints = nullptr;  // projection checkpoints
  // Each projector's tables (options.projectors order); empty if not opened.
  std::vector<std::vector<TableId>> projector_tables;

  std::unique_ptr<rocksdb::DB> db;
  // Every open column family; a TableId is an index into it.
  TableHandles handles;
  // Reads of side and projection tables (set once the database is open).
  std::unique_ptr<RocksRowReader> rows;
  StoreOptions options;
  ClockMode mode = ClockMode::kSystem;
  SystemClock system_clock;
  ManualClock manual_clock;

  // Partitions of the log this store holds: 1 for an embedded ledger, the upstream log's
  // count for a copy (kept in meta "partitions").
  uint32_t partitions = 1;
  // Published after each durable group; read without locks. durable_last: each
  // partition's last position (PartitionBase(p) when empty); last_position: the highest
  // position of an event (0 when there is none).
  std::atomic<uint64_t> last_position{0};
  std::array<std::atomic<uint64_t>, kMaxLogPartitions> durable_last{};
  std::atomic<Micros> ledger_time{0};
  std::atomic<uint64_t> stat_groups{0}, stat_requests{0}, stat_events{0};
  std::atomic<uint64_t> stat_build_micros{0}, stat_write_micros{0}, stat_commit_micros{0};
  std::atomic<uint64_t> stat_recoveries{0};  // writes resumed after a full disk
  // With an upstream log: this copy's standing (see StoreStats), written by the builder.
  std::atomic<bool> writes_upstream{false};
  std::atomic<uint64_t> upstream_lag_events{0};
  std::atomic<int64_t> upstream_matched_at{0};  // steady-clock micros of the last match
  std::atomic<uint64_t> stat_takeovers{0};
  std::atomic<bool> follows{false};  // mirrors following_ for readers without mu_
  std::mutex writer_name_mu;
  std::string upstream_writer;  // guarded by writer_name_mu: UpstreamState::writer last seen
  std::atomic<uint64_t> writer_generation{0};  // bumped by ReloadWriterState
  // With an upstream log: the partitions this store holds the right to write (with a
  // placement, some; else all or none). Written by the builder (and the open).
  std::array<std::atomic<bool>, kMaxLogPartitions> owned{};
  // guarded by writer_name_mu: each partition's writer as last seen (UpstreamState::writer)
  std::array<std::string, kMaxLogPartitions> partition_writers;
  std::array<std::atomic<uint64_t>, StoreStats::kSizeBuckets> stat_group_sizes{};

  // Held by the syncer for each group's write and its publication; a backup holds it to
  // list the files to copy between two groups (backup.cc).
  std::mutex group_write_mu;
  // Serializes backups (backup.cc).
  std::mutex backup_mu;

  // A follower reads the log's command records and side rows at least this often.
  static constexpr std::chrono::seconds kFullPullInterval{1};

 private:
  friend class GroupBuilder;

  // Keeps the opened families' handles: the core ones, then (in the open's order) the
  // optional families and the families of each projector that was opened.
  void BindHandles(const std::vector<rocksdb::ColumnFamilyDescriptor>& optional_families,
                   const std::vector<bool>& projector_opened);
  Status LoadMeta();
  // Each partition's durable last position, from the events family's keys.
  Status LoadFrontier();
  // Each partition's last rejection sequence, from meta, into the builder's state.
  Status LoadRejectionSeqs();
  // The partition count: the upstream log's (recorded in meta by a new copy, checked
  // against an old one's), else meta's, else 1.
  Status LoadPartitions();
  void StartThreads();
  // Attaches the projectors, catching their rows up with the log (or rebuilding them).
  Status OpenProjections();
  // Folds events after `from` (per partition) into projector `i`'s rows, in batches with
  // its checkpoint.
  Status CatchUp(size_t i, std::vector<uint64_t> from);
  // Projector `i`'s checkpoint: its version and each partition's last folded position.
  // NotFound when it has none.
  Status ReadCheckpoint(size_t i, uint32_t* version, std::vector<uint64_t>* positions);
  // Drops and recreates projector `i`'s families.
  Status DropProjection(size_t i);
  void BuilderLoop();
  void SyncerLoop();
  void CompleterLoop();
  // After a write failed for lack of disk space (builder thread, `lock` held): at most
  // every kRecoveryInterval, waits for the syncer to be idle, resumes RocksDB and reloads
  // the writer state from the durable one; on success the store takes writes again.
  void TryRecover(std::unique_lock<std::mutex>& lock);
  // Forgets the builder's state beyond the last durable group (builder thread, syncer idle).
  Status ReloadWriterState();
  // With an upstream log: takes the right to write again, applies what the log holds past
  // the local files and catches the projections up (builder thread, syncer idle).
  Status RecoverFromUpstream();
  // A follower's step (builder thread, `lock` held, nothing in the syncer's hands): takes
  // the right to write if it is free (promotion), else applies what the log holds past
  // the local copy and catches the projections up.
  void FollowUpstream(std::unique_lock<std::mutex>& lock);
  // Applies the log's new events to the local copy and its projections (a follower).
  Status PullAsFollower();
  // Answers the groups whose commit had an unknown outcome: from what the local copy holds
  // when `log_read` (it was just caught up with the log), else `unavailable` once they
  // waited kUnknownPatience (mu_ held; builder thread).
  void SettleUnknown(bool log_read);
  // Does the local copy hold `group`'s command records, as this group decided them?
  bool CopyHolds(const PreparedGroup& group);
  // Records how far the local copy is behind the log's partitions (lag figures), and
  // who writes the log.
  void NoteUpstreamSeen(const std::vector<UpstreamState>& states);
  // Takes the right to write every partition, in partition order (so of two nodes the one
  // that took partition 0 gets the rest); *states: each partition as taken. Unavailable
  // (naming the holder) at the first partition another node holds, having given up the
  // others so that the holder can take them all.
  Status AcquireAll(std::vector<UpstreamState>* states);
  // Each partition's state, without taking anything.
  Status ReadAllStates(std::vector<UpstreamState>* states);
  // With a placement (StoreOptions::upstream_placement): takes the partitions it gives
  // this node that are free, gives up those it no longer gives, notes those another node
  // took, and with `again` takes again those still held (after a refused group); *states:
  // every partition, as taken or read. *taken: a partition was taken (the writer state must
  // be reloaded). OK when the log answered, whatever this node could take.
  Status AcquirePlaced(bool again, std::vector<UpstreamState>* states, bool* taken);
  // A step of a store with a placement (builder thread, `lock` held, the syncer idle):
  // partitions taken and given up as the placement says, then what the log holds past the
  // local copy of the partitions others write applied (AcquirePlaced, PullPlaced).
  void PlacementStep(std::unique_lock<std::mutex>& lock);
  // With a placement: applies what the log holds past the local copy of the partitions
  // this node does not write (and, when `taken`, of every partition it writes: one was
  // just taken, or taken again), catches the projections up, and when `taken` reloads the
  // writer state.
  Status PullPlaced(const std::vector<UpstreamState>& states, bool taken);
  // Completes the writes of `writes` whose partition this node does not write with
  // Unavailable naming the partition's writer, and removes them (mu_ not held).
  void RefuseUnowned(std::vector<std::unique_ptr<QueuedWrite>>* writes);
  // What an append is told while this store follows (mu_ held).
  Status FollowerRefusal() const;
  // Applies what the upstream log holds past the local files: command records, then
  // rejections and side-table rows, then events with their stream index and heads
  // (events last: the local last position says how far the copy goes).
  Status PullUpstream(const UpstreamState& upstream);
  // PullUpstream for every partition.
  Status PullAll(const std::vector<UpstreamState>& states);
  // Sets options.clock_mode_if_new to the upstream log's clock mode (recording this one's
  // when the log has none and this store may write), or fails if the local copy's differs.
  Status AgreeClockWithUpstream();
  Status PullCommands(uint32_t partition);
  Status PullRejections(uint32_t partition);
  Status PullSideRows(uint32_t partition);
  Status PullEvents(const UpstreamState& upstream);
  // Folds events past each projector's checkpoint into its rows (after a pull).
  Status CatchUpProjections();
  // Writes a prepared group with one synced write and publishes it.
  Status WriteGroup(PreparedGroup* group);
  // Calls every callback of the group with `status` (OK: each its own result).
  static void Complete(PreparedGroup* group, const Status& status);
  // The tenant's head including every group built so far (builder only).
  Status LoadHead(const std::string& tenant, StreamHead* head);
  // Idempotency record of a command of an earlier, not yet durable group.
  bool FindInflight(const std::string& key, InflightCommand* out);

  std::mutex mu_;
  std::condition_variable builder_cv_;              // work queued, syncer idle, or stopping
  std::condition_variable syncer_cv_;               // a group is ready, or stopping
  std::deque<std::unique_ptr<QueuedWrite>> queue_;  // guarded by mu_
  std::unique_ptr<PreparedGroup> ready_;            // guarded by mu_
  bool syncer_busy_ = false;                        // guarded by mu_
  bool builder_waiting_ = false;                    // guarded by mu_
  bool pull_now_ = false;                           // guarded by mu_: a caller awaits a position
  std::condition_variable applied_cv_;              // a follower's step ended, or stopping
  bool stopping_ = false;                           // guarded by mu_
  bool builder_done_ = false;                       // guarded by mu_: builder exited
  bool syncer_done_ = false;                        // guarded by mu_: syncer exited
  std::deque<std::unique_ptr<PreparedGroup>> completed_;  // guarded by mu_
  // guarded by mu_: groups whose commit outcome is unknown, and since when (SettleUnknown)
  std::deque<std::pair<std::chrono::steady_clock::time_point, std::unique_ptr<PreparedGroup>>>
      unknown_;
  std::condition_variable completer_cv_;  // a group completed, or syncer exited
  std::thread completer_;
  Status write_error_;                 // guarded by mu_; sticky, unless it is a full disk
  bool write_error_no_space_ = false;  // guarded by mu_
  bool write_error_upstream_ = false;  // guarded by mu_: the upstream log refused a group
  // guarded by mu_: another node holds the right to write the upstream log; why (its
  // Acquire's answer, naming the holder).
  bool following_ = false;
  Status follow_reason_;
  std::chrono::steady_clock::time_point last_full_pull_;         // builder only (a follower)
  std::chrono::steady_clock::time_point last_recovery_attempt_;  // builder only
  std::chrono::steady_clock::time_point next_placement_;         // builder only (placed)
  std::thread builder_;
  std::thread syncer_;

  // Builder-only state. It runs ahead of the durable state by the group being written.
  std::unordered_map<std::string, StreamHead> head_cache_;
  std::array<uint64_t, kMaxLogPartitions> build_positions_{};  // per partition
  Micros build_time_ = 0;
  std::array<uint64_t, kMaxLogPartitions> rejection_seqs_{};  // per partition

  std::mutex inflight_mu_;
  std::unordered_map<std::string, InflightCommand> inflight_;  // guarded by inflight_mu_
};

}  // namespace ledger
