// The writer pipeline: the builder thread groups and encodes queued writes, the syncer
// thread writes each group with one synced RocksDB write and completes its callers.
#include <fmt/format.h>

#include <chrono>

#include "group_builder.h"
#include "keys.h"
#include "records.h"
#include "store_impl.h"

namespace ledger {
namespace {

uint64_t MicrosSince(std::chrono::steady_clock::time_point start) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now() - start)
                                   .count());
}

Status RefusedAfter(const Status& error, bool no_space, bool upstream) {
  if (upstream) {
    return Status::Unavailable(
        "the log refused an earlier group; writes resume once this "
        "node has read the log again: " +
        error.message());
  }
  return Status::Unavailable(
      no_space ? "disk full: writes resume once space is freed: " + error.message()
               : "store refuses writes after an earlier failure (reopen it): " + error.message());
}

// What the callers of a group the upstream log did not take are told. Retrying with the
// same id is always safe: a group that did commit answers `duplicate` then.
Status UpstreamFailure(const Status& s) {
  if (s.IsOutcomeUnknown()) {
    return Status::Unavailable(
        "the log did not answer whether the command committed; retry "
        "with the same id: " +
        s.message());
  }
  return Status::Unavailable("the log refused the command's group; retry with the same id: " +
                             s.message());
}

// How long a group whose commit had an unknown outcome waits for the log to be read
// again before its callers are told the outcome is unknown.
constexpr std::chrono::seconds kUnknownPatience{10};

// How long a store out of disk space waits between attempts to resume writing.
constexpr std::chrono::milliseconds kRecoveryInterval{500};

size_t EstimateBytes(const QueuedWrite& w) {
  size_t size = 64;
  for (const auto& e : w.request.events) size += 64 + e.AllocatedBytes();
  return size;
}

}  // namespace

void Store::Impl::Submit(std::unique_ptr<QueuedWrite> w) {
  w->bytes = EstimateBytes(*w);
  std::unique_lock<std::mutex> lock(mu_);
  if (stopping_ || options.read_only || options.upstream_read_only || following_) {
    const Status s = following_ ? FollowerRefusal()
                                : Status::Unavailable(options.read_only ? "store is open read-only"
                                                      : options.upstream_read_only
                                                          ? "this copy of the log does not write it"
                                                          : "store is closing");
    lock.unlock();
    w->done(s, w->result);
    return;
  }
  queue_.push_back(std::move(w));
  if (builder_waiting_) builder_cv_.notify_one();
}

Status Store::Impl::WriteHealth() {
  std::lock_guard<std::mutex> lock(mu_);
  return following_ ? FollowerRefusal() : write_error_;
}

Status Store::Impl::FollowerRefusal() const {
  return Status::Unavailable("this node follows the log; commands go to the node that writes it: " +
                             follow_reason_.message());
}

bool Store::Impl::FindInflight(const std::string& key, InflightCommand* out) {
  std::lock_guard<std::mutex> lock(inflight_mu_);
  auto it = inflight_.find(key);
  if (it == inflight_.end()) return false;
  *out = it->second;
  return true;
}

Status Store::Impl::LoadHead(const std::string& tenant, StreamHead* head) {
  auto it = head_cache_.find(tenant);
  if (it != head_cache_.end()) {
    *head = it->second;
    return Status::OK();
  }
  std::string value;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), heads, tenant, &value);
  if (s.IsNotFound()) {
    *head = StreamHead();
  } else if (!s.ok()) {
    return FromRocks(s);
  } else {
    Status d = records::DecodeHead(value, head);
    if (!d.ok()) return d;
  }
  head_cache_.emplace(tenant, *head);
  return Status::OK();
}

void Store::Impl::BuilderLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    builder_waiting_ = true;
    const bool upstream_refused = !write_error_.ok() && write_error_upstream_;
    // (The syncer wakes this wait when the log refuses a group.)
    const auto woken = [this, upstream_refused] {
      return stopping_ || !queue_.empty() || (write_error_upstream_ && !upstream_refused) ||
             pull_now_;
    };
    if (Placed() && !upstream_refused) {
      builder_cv_.wait_until(lock, next_placement_, woken);
    } else if (following_ || upstream_refused) {
      builder_cv_.wait_for(lock, options.follow_interval, woken);
    } else {
      builder_cv_.wait(lock, woken);
    }
    builder_waiting_ = false;
    if (!following_ && !Placed()) pull_now_ = false;  // only a follower pulls on demand
    // After the log refused a group: read it again (a fenced writer turns follower).
    if (write_error_upstream_ && !stopping_ && queue_.empty()) TryRecover(lock);
    // A follower applies the log, or takes the right to write once it is free.
    if (following_ && !stopping_) FollowUpstream(lock);
    // With a placement: partitions change hands and the others' writes are applied.
    if (Placed() && !stopping_ && write_error_.ok() &&
        (pull_now_ || std::chrono::steady_clock::now() >= next_placement_)) {
      PlacementStep(lock);
    }
    if (queue_.empty()) {
      if (stopping_) break;  // everything queued has been handed on
      continue;
    }

    // Before the group builder copies the writer state, which a recovery reloads.
    if (!write_error_.ok() && (write_error_no_space_ || write_error_upstream_)) TryRecover(lock);
    auto group = std::make_unique<PreparedGroup>();
    GroupBuilder builder(this, group.get());
    group->status = following_ ? FollowerRefusal()
                    : write_error_.ok()
                        ? Status::OK()
                        : RefusedAfter(write_error_, write_error_no_space_, write_error_upstream_);
    const auto start = std::chrono::steady_clock::now();
    size_t bytes = 0;
    std::vector<std::unique_ptr<QueuedWrite>> unowned;  // for partitions others write
    // Take what is queued; while the syncer is still busy with the previous group, keep
    // absorbing arrivals into this one (bigger groups, same latency).
    while (true) {
      std::vector<QueuedWrite*> taken;
      while (!queue_.empty() && group->writes.size() < options.max_group_requests &&
             (group->writes.empty() || bytes + queue_.front()->bytes <= options.max_group_bytes)) {
        if (Placed() && !OwnsTenantOf(*queue_.front())) {
          unowned.push_back(std::move(queue_.front()));
          queue_.pop_front();
          continue;
        }
        bytes += queue_.front()->bytes;
        taken.push_back(queue_.front().get());
        group->writes.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      if (!taken.empty() && group->status.ok()) {
        lock.unlock();
        group->status = builder.Add(taken);
        lock.lock();
      }
      const bool full =
          group->writes.size() >= options.max_group_requests ||
          (!queue_.empty() && bytes + queue_.front()->bytes > options.max_group_bytes);
      if (!syncer_busy_ || full || !group->status.ok() || stopping_) break;
      if (queue_.empty()) {
        builder_waiting_ = true;
        builder_cv_.wait(lock, [this] { return !queue_.empty() || !syncer_busy_ || stopping_; });
        builder_waiting_ = false;
      }
    }
    if (group->status.ok() || !unowned.empty()) {
      lock.unlock();
      if (group->status.ok()) builder.Finish();
      RefuseUnowned(&unowned);
      lock.lock();
    }
    stat_build_micros += MicrosSince(start);
    // Hand the group to the syncer once it has taken the previous one.
    builder_cv_.wait(lock, [this] { return ready_ == nullptr; });
    ready_ = std::move(group);
    syncer_busy_ = true;
    syncer_cv_.notify_one();
  }
  builder_done_ = true;
  syncer_cv_.notify_one();
}

void Store::Impl::SyncerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    syncer_cv_.wait(lock, [this] { return ready_ != nullptr || builder_done_; });
    if (ready_ == nullptr) break;
    std::unique_ptr<PreparedGroup> group = std::move(ready_);
    Status status = group->status;
    if (status.ok() && !write_error_.ok()) {
      status = RefusedAfter(write_error_, write_error_no_space_, write_error_upstream_);
    }
    builder_cv_.notify_one();  // ready_ is free again
    lock.unlock();

    if (status.ok() && !group->empty) status = WriteGroup(group.get());
    group->status = status;

    lock.lock();
    if (!status.ok() && write_error_.ok() && (!status.IsUnavailable() || group->upstream_failed)) {
      write_error_ = status;
      write_error_no_space_ = group->no_space;
      write_error_upstream_ = group->upstream_failed;
    }
    if (ready_ == nullptr) syncer_busy_ = false;
    builder_cv_.notify_one();
    if (group->outcome_unknown) {
      // Answered once the log has been read again (SettleUnknown): it may hold the group.
      unknown_.emplace_back(std::chrono::steady_clock::now(), std::move(group));
      continue;
    }
    // Callers are completed by the completer thread, so the next write starts at once.
    completed_.push_back(std::move(group));
    completer_cv_.notify_one();
  }
  // Closing: what is still unknown is answered as unknown (retry with the same id).
  for (auto& [since, group] : unknown_) completed_.push_back(std::move(group));
  unknown_.clear();
  syncer_done_ = true;
  completer_cv_.notify_one();
}

void Store::Impl::CompleterLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    completer_cv_.wait(lock, [this] { return !completed_.empty() || syncer_done_; });
    if (completed_.empty()) break;
    std::deque<std::unique_ptr<PreparedGroup>> groups;
    groups.swap(completed_);
    lock.unlock();
    for (auto& group : groups) Complete(group.get(), group->status);
    groups.clear();
    lock.lock();
  }
}

Status Store::Impl::WriteGroup(PreparedGroup* group) {
  std::lock_guard<std::mutex> between_groups(group_write_mu);
  const auto start = std::chrono::steady_clock::now();
  if (options.upstream != nullptr) {
    // Durable in the log first: nothing is visible here that the log may not hold.
    std::vector<UpstreamPart> parts;
    parts.reserve(group->parts.size());
    for (const PartitionLog& part : group->parts) {
      parts.push_back(UpstreamPart{part.partition, part.after_position, &part.log});
    }
    const Status us = options.upstream->Commit(parts);
    stat_commit_micros += MicrosSince(start);
    if (!us.ok()) {
      group->upstream_failed = true;
      group->outcome_unknown = us.IsOutcomeUnknown();
      return UpstreamFailure(us);
    }
  }
  const auto local_start = std::chrono::steady_clock::now();
  rocksdb::WriteOptions wo;
  // Synced even on an upstream log, where the group is durable already: without it a
  // power loss can leave column families at different points (a flushed table ahead of
  // a truncated WAL), and the conformance suite's power-loss test caught views behind
  // their events on reopen.
  wo.sync = true;
  rocksdb::Status ws = db->Write(wo, &group->batch);
  stat_write_micros += MicrosSince(local_start);
  if (!ws.ok()) {
    // The builder state ran ahead of the disk; the store refuses writes until reopened,
    // or, when the disk was full, until TryRecover succeeds.
    group->no_space = ws.IsNoSpace();
    return FromRocks(ws);
  }
  {
    std::lock_guard<std::mutex> lock(inflight_mu_);
    for (const auto& key : group->inflight_keys) inflight_.erase(key);
  }
  stat_groups += 1;
  size_t bucket = 0;
  while (bucket + 1 < StoreStats::kSizeBuckets && (size_t{1} << bucket) < group->writes.size()) {
    ++bucket;
  }
  stat_group_sizes[bucket] += 1;
  stat_requests += group->writes.size();
  stat_events += group->events;
  for (const auto& [partition, position] : group->last_positions) PublishLast(partition, position);
  ledger_time = group->time;
  if (mode == ClockMode::kManual) manual_clock.AdvanceTo(group->time).PermitUncheckedError();
  return Status::OK();
}

void Store::Impl::TryRecover(std::unique_lock<std::mutex>& lock) {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_recovery_attempt_ < kRecoveryInterval) return;
  last_recovery_attempt_ = now;
  // Nothing may be in the syncer's hands while the writer state is reloaded.
  builder_cv_.wait(lock, [this] { return ready_ == nullptr && !syncer_busy_; });
  const bool upstream = write_error_upstream_;
  lock.unlock();
  Status s;
  if (upstream) {
    s = RecoverFromUpstream();
    // (With a placement a node never follows whole: it keeps what it still holds.)
    if (s.IsUnavailable() && options.upstream_follow && !Placed()) {
      // Fenced by the node that now writes: forget what this one built past its copy —
      // its views' in-memory state included — before following (else the views refuse
      // the writer's events at versions they believe they hold).
      const Status reloaded = ReloadWriterState();
      if (!reloaded.ok()) s = reloaded;
    }
  } else {
    // RocksDB flushes every memtable to new files and starts a new WAL (the failed write
    // never reached a memtable); this needs free space, so it fails while the disk is full.
    rocksdb::Status resumed = db->Resume();
    s = resumed.ok() ? ReloadWriterState() : FromRocks(resumed);
  }
  lock.lock();
  // Fenced by a node that now holds the right to write: follow it.
  const bool follow = upstream && s.IsUnavailable() && options.upstream_follow && !Placed();
  if (follow) {
    following_ = true;
    follows = true;
    follow_reason_ = s;
  }
  if (s.ok() || follow) {
    write_error_ = Status::OK();
    write_error_no_space_ = false;
    write_error_upstream_ = false;
    if (s.ok()) stat_recoveries += 1;
  }
  if (upstream) SettleUnknown(/*log_read=*/s.ok());
}

void Store::Impl::SettleUnknown(bool log_read) {
  const auto now = std::chrono::steady_clock::now();
  bool settled = false;
  while (!unknown_.empty()) {
    auto& [since, group] = unknown_.front();
    if (log_read) {
      group->status = CopyHolds(*group)
                          ? Status::OK()
                          : Status::Unavailable(
                                "the log does not hold the command's group (its commit failed "
                                "as the log's answer was lost); retry with the same id");
    } else if (now - since < kUnknownPatience) {
      break;  // keeps its "did not answer whether ... committed" status past the patience
    }
    completed_.push_back(std::move(group));
    unknown_.pop_front();
    settled = true;
  }
  if (settled) completer_cv_.notify_one();
}

bool Store::Impl::CopyHolds(const PreparedGroup& group) {
  // The group is one transaction: any one of its command records tells.
  for (const auto& w : group.writes) {
    if (w->rejection || w->result.kind == AppendResult::Kind::kDuplicate ||
        !w->request.check_idempotency) {
      continue;
    }
    std::string value;
    rocksdb::Status s = db->Get(rocksdb::ReadOptions(), commands,
                                keys::CommandKey(w->request.tenant, w->request.command_id), &value);
    if (!s.ok()) return false;
    Digest hash{};
    AppendResult recorded;
    if (!records::DecodeCommand(value, &hash, &recorded).ok()) return false;
    return hash == w->request.request_hash && recorded.position == w->result.position;
  }
  return false;  // nothing to tell by: answered as unknown
}

Status Store::Impl::ReloadWriterState() {
  // Everything the builder knew beyond the last durable group is forgotten.
  head_cache_.clear();
  {
    std::lock_guard<std::mutex> lock(inflight_mu_);
    inflight_.clear();
  }
  for (uint32_t p = 0; p < partitions; ++p) build_positions_[p] = durable_last[p].load();
  build_time_ = ledger_time.load();
  writer_generation += 1;
  Status s = LoadRejectionSeqs();
  if (!s.ok()) return s;
  for (auto& p : options.projectors) p->Reset();
  return Status::OK();
}

void Store::Impl::Complete(PreparedGroup* group, const Status& status) {
  for (auto& w : group->writes) w->done(status, w->result);
}

}  // namespace ledger
