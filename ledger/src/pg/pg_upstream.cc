// PgUpstream: the PostgreSQL log's partition 0 as a store's upstream.
#include "ledger/pg_upstream.h"

#include <fmt/format.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace ledger {
namespace {

constexpr uint32_t kPartition = 0;
constexpr char kClockSetting[] = "clock_mode";

// Keeps a lease alive while its holder is idle: renews it every third of its time on a
// connection of its own (PgLog is one connection per thread), until stopped or fenced.
class LeaseKeeper {
 public:
  LeaseKeeper(std::unique_ptr<PgLog> log, std::string node, std::chrono::milliseconds ttl)
      : log_(std::move(log)), node_(std::move(node)), ttl_(ttl) {}
  ~LeaseKeeper() { Stop(); }

  // Keeps the lease at `epoch` from now on (replacing any earlier one).
  void Keep(uint64_t epoch) {
    Stop();
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = false;
    thread_ = std::thread([this, epoch] { Run(epoch); });
  }
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Run(uint64_t epoch) {
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, ttl_ / 3, [this] { return stopping_; })) {
      lock.unlock();
      PgPartition row;
      const Status s = log_->RenewLease(kPartition, node_, epoch, ttl_, &row);
      lock.lock();
      if (s.IsFenced()) return;  // another node took it: the writer's next commit is fenced
      // Other failures (the primary failing over): try again at the next tick.
    }
  }

  std::unique_ptr<PgLog> log_;
  const std::string node_;
  const std::chrono::milliseconds ttl_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

class PgUpstream final : public UpstreamLog {
 public:
  PgUpstream(std::unique_ptr<PgLog> log, std::unique_ptr<PgLog> keeper_log,
             PgUpstreamOptions options)
      : log_(std::move(log)),
        options_(std::move(options)),
        keeper_(std::move(keeper_log), options_.node, options_.lease_ttl) {}

  ~PgUpstream() override {
    keeper_.Stop();
    // A clean stop frees the partition at once instead of after the lease's time.
    if (epoch_ != 0) log_->ReleaseLease(kPartition, options_.node, epoch_).PermitUncheckedError();
  }

  std::string Describe() const override {
    return fmt::format("the PostgreSQL log (partition {}, node '{}')", kPartition, options_.node);
  }

  Status Acquire(UpstreamState* state) override {
    PgPartition row;
    Status s = log_->AcquireLease(kPartition, options_.node, options_.lease_ttl, &row);
    if (!s.ok()) return s;
    epoch_ = row.epoch;
    keeper_.Keep(epoch_);
    state->last_position = row.last_position;
    state->last_rejection = row.last_rejection;
    state->ledger_time = row.ledger_time;
    state->writer = options_.node;
    return Status::OK();
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

  Status ReadState(UpstreamState* state) override {
    PgPartition row;
    Status s = log_->GetPartition(kPartition, &row);
    if (!s.ok()) return s;
    state->last_position = row.last_position;
    state->last_rejection = row.last_rejection;
    state->ledger_time = row.ledger_time;
    state->writer = row.owner;
    return Status::OK();
  }

  Status Commit(uint64_t after_position, const LogGroup& group) override {
    return log_->CommitGroup(kPartition, epoch_, after_position, group);
  }

  Status ReadEvents(uint64_t from, uint64_t to,
                    const std::function<bool(const UpstreamEvent&)>& fn) override {
    return log_->ReadPartition(kPartition, from, to, [&](const PgEventView& e) {
      return fn(UpstreamEvent{e.position, e.bytes});
    });
  }

  Status ReadCommands(uint64_t after_position,
                      const std::function<bool(const LogCommand&)>& fn) override {
    return log_->ReadCommandsSince(kPartition, after_position, fn);
  }

  Status ReadRejections(uint64_t after,
                        const std::function<bool(const RejectionRecord&)>& fn) override {
    return log_->ReadRejectionsSince(kPartition, after, fn);
  }

  Status ReadSideRows(const std::function<bool(std::string_view, std::string_view,
                                               std::string_view)>& fn) override {
    return log_->ForEachSideRow(kPartition, fn);
  }

 private:
  std::unique_ptr<PgLog> log_;
  const PgUpstreamOptions options_;
  uint64_t epoch_ = 0;  // of the lease taken by the last Acquire; 0 = none
  LeaseKeeper keeper_;
};

}  // namespace

Status OpenPgUpstream(const std::string& conninfo, const PgUpstreamOptions& options,
                      std::shared_ptr<UpstreamLog>* upstream) {
  if (options.node.empty()) return Status::InvalidArgument("node: required");
  PgLogOptions log_options = options.log;
  if (log_options.partitions == 0) log_options.partitions = 1;
  std::unique_ptr<PgLog> log;
  Status s = PgLog::Open(conninfo, log_options, &log);
  if (!s.ok()) return s;
  if (log->partitions() != 1) {
    return Status::InvalidArgument(
        fmt::format("partitions: the log has {} partitions; this version of ledgerd runs logs of 1 "
                    "partition (create it with --partitions 1)",
                    log->partitions()));
  }
  std::unique_ptr<PgLog> keeper_log;  // the lease keeper's own connection
  s = PgLog::Open(conninfo, log_options, &keeper_log);
  if (!s.ok()) return s;
  *upstream = std::make_shared<PgUpstream>(std::move(log), std::move(keeper_log), options);
  return Status::OK();
}

}  // namespace ledger
