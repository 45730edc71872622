// PgUpstream: the PostgreSQL log, every partition of it, as a store's upstream.
#include "ledger/pg_upstream.h"

#include <fmt/format.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace ledger {
namespace {

constexpr char kClockSetting[] = "clock_mode";

// Keeps leases alive while their holder is idle: renews each every third of its time on a
// connection of its own (PgLog is one connection per thread), until stopped or fenced.
class LeaseKeeper {
 public:
  LeaseKeeper(std::unique_ptr<PgLog> log, std::string node, std::chrono::milliseconds ttl)
      : log_(std::move(log)), node_(std::move(node)), ttl_(ttl) {}
  ~LeaseKeeper() { Stop(); }

  // Keeps the lease on `partition` at `epoch` from now on (replacing an earlier one).
  void Keep(uint32_t partition, uint64_t epoch) {
    std::lock_guard<std::mutex> lock(mu_);
    epochs_[partition] = epoch;
    if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
  }
  // Stops renewing the lease on `partition`.
  void Forget(uint32_t partition) {
    std::lock_guard<std::mutex> lock(mu_);
    epochs_.erase(partition);
  }
  // Stops renewing every lease.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, ttl_ / 3, [this] { return stopping_; })) {
      const std::map<uint32_t, uint64_t> epochs = epochs_;
      lock.unlock();
      std::vector<uint32_t> fenced;
      for (const auto& [partition, epoch] : epochs) {
        PgPartition row;
        const Status s = log_->RenewLease(partition, node_, epoch, ttl_, &row);
        // Another node took it: the writer's next commit there is fenced. Other failures
        // (the primary failing over): try again at the next tick.
        if (s.IsFenced()) fenced.push_back(partition);
      }
      lock.lock();
      for (uint32_t p : fenced) {
        auto it = epochs_.find(p);
        if (it != epochs_.end() && it->second == epochs.at(p)) epochs_.erase(it);
      }
    }
  }

  std::unique_ptr<PgLog> log_;
  const std::string node_;
  const std::chrono::milliseconds ttl_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint32_t, uint64_t> epochs_;  // guarded by mu_: partition -> epoch held
  bool stopping_ = false;                // guarded by mu_
  std::thread thread_;
};

void FillState(const PgPartition& row, UpstreamState* state) {
  state->partition = row.partition;
  state->last_position = row.last_position;
  state->last_rejection = row.last_rejection;
  state->ledger_time = row.ledger_time;
  state->writer = row.owner;
}

class PgUpstream final : public UpstreamLog {
 public:
  PgUpstream(std::unique_ptr<PgLog> log, std::unique_ptr<PgLog> keeper_log,
             PgUpstreamOptions options)
      : log_(std::move(log)),
        options_(std::move(options)),
        epochs_(log_->partitions(), 0),
        keeper_(std::move(keeper_log), options_.node, options_.lease_ttl) {}

  ~PgUpstream() override {
    keeper_.Stop();
    // A clean stop frees the partitions at once instead of after the lease's time.
    for (uint32_t p = 0; p < epochs_.size(); ++p) {
      if (epochs_[p] != 0) log_->ReleaseLease(p, options_.node, epochs_[p]).PermitUncheckedError();
    }
  }

  std::string Describe() const override {
    return fmt::format("the PostgreSQL log ({} partition{}, node '{}')", epochs_.size(),
                       epochs_.size() == 1 ? "" : "s", options_.node);
  }

  uint32_t partitions() const override { return static_cast<uint32_t>(epochs_.size()); }

  Status Acquire(uint32_t partition, UpstreamState* state) override {
    if (partition >= epochs_.size()) return Status::InvalidArgument("partition: out of range");
    PgPartition row;
    Status s = log_->AcquireLease(partition, options_.node, options_.lease_ttl, &row);
    if (!s.ok()) return s;
    epochs_[partition] = row.epoch;
    keeper_.Keep(partition, row.epoch);
    FillState(row, state);
    state->writer = options_.node;
    return Status::OK();
  }

  void Release(uint32_t partition) override {
    if (partition >= epochs_.size() || epochs_[partition] == 0) return;
    keeper_.Forget(partition);
    log_->ReleaseLease(partition, options_.node, epochs_[partition]).PermitUncheckedError();
    epochs_[partition] = 0;
  }

  Status ClockModeOf(std::optional<ClockMode> if_new, ClockMode* mode) override {
    std::string value;
    Status s = if_new ? log_->SettleSetting(kClockSetting, ClockModeName(*if_new), &value)
                      : log_->GetSetting(kClockSetting, &value);
    if (!s.ok()) return s;
    const auto parsed = ParseClockMode(value);
    if (!parsed) return Status::Corruption("ledger_meta: unknown clock mode '" + value + "'");
    *mode = *parsed;
    return Status::OK();
  }

  Status ReadState(uint32_t partition, UpstreamState* state) override {
    PgPartition row;
    Status s = log_->GetPartition(partition, &row);
    if (s.ok()) FillState(row, state);
    return s;
  }

  Status Commit(const std::vector<UpstreamPart>& parts) override {
    std::vector<PgPartitionCommit> commits;
    commits.reserve(parts.size());
    for (const UpstreamPart& part : parts) {
      if (part.partition >= epochs_.size() || epochs_[part.partition] == 0) {
        return Status::Fenced(
            fmt::format("partition {}: this node holds no lease on it", part.partition));
      }
      commits.push_back(PgPartitionCommit{part.partition, epochs_[part.partition],
                                          part.after_position, part.group});
    }
    return log_->CommitGroups(commits);
  }

  Status ReadEvents(uint32_t partition, uint64_t from, uint64_t to,
                    const std::function<bool(const UpstreamEvent&)>& fn) override {
    return log_->ReadPartition(partition, from, to, [&](const PgEventView& e) {
      return fn(UpstreamEvent{e.position, e.bytes});
    });
  }

  Status ReadCommands(uint32_t partition, uint64_t after_position,
                      const std::function<bool(const LogCommand&)>& fn) override {
    return log_->ReadCommandsSince(partition, after_position, fn);
  }

  Status ReadRejections(uint32_t partition, uint64_t after,
                        const std::function<bool(const RejectionRecord&)>& fn) override {
    return log_->ReadRejectionsSince(partition, after, fn);
  }

  Status ReadSideRows(uint32_t partition,
                      const std::function<bool(std::string_view, std::string_view,
                                               std::string_view)>& fn) override {
    return log_->ForEachSideRow(partition, fn);
  }

 private:
  std::unique_ptr<PgLog> log_;
  const PgUpstreamOptions options_;
  std::vector<uint64_t> epochs_;  // per partition: the lease taken by Acquire; 0 = none
  LeaseKeeper keeper_;
};

}  // namespace

Status OpenPgUpstream(const std::string& conninfo, const PgUpstreamOptions& options,
                      std::shared_ptr<UpstreamLog>* upstream) {
  if (options.node.empty()) return Status::InvalidArgument("node: required");
  const PgLogOptions& log_options = options.log;
  std::unique_ptr<PgLog> log;
  Status s = PgLog::Open(conninfo, log_options, &log);
  if (!s.ok()) return s;
  std::unique_ptr<PgLog> keeper_log;  // the lease keeper's own connection
  s = PgLog::Open(conninfo, log_options, &keeper_log);
  if (!s.ok()) return s;
  *upstream = std::make_shared<PgUpstream>(std::move(log), std::move(keeper_log), options);
  return Status::OK();
}

}  // namespace ledger
