// PgUpstream: the PostgreSQL log's partition 0 as a store's upstream.
#include "ledger/pg_upstream.h"

#include <fmt/format.h>

namespace ledger {
namespace {

constexpr uint32_t kPartition = 0;
constexpr char kClockSetting[] = "clock_mode";

class PgUpstream final : public UpstreamLog {
 public:
  PgUpstream(std::unique_ptr<PgLog> log, PgUpstreamOptions options)
      : log_(std::move(log)), options_(std::move(options)) {}

  ~PgUpstream() override {
    // A clean stop frees the partition at once instead of after the lease's time.
    if (epoch_ != 0) log_->ReleaseLease(kPartition, options_.node, epoch_).PermitUncheckedError();
  }

  std::string Describe() const override {
    return fmt::format("the PostgreSQL log (partition {}, node '{}')", kPartition,
                       options_.node);
  }

  Status Acquire(UpstreamState* state) override {
    PgPartition row;
    Status s = log_->AcquireLease(kPartition, options_.node, options_.lease_ttl, &row);
    if (!s.ok()) return s;
    epoch_ = row.epoch;
    renew_after_ = std::chrono::steady_clock::now() + options_.lease_ttl / 3;
    state->last_position = row.last_position;
    state->last_rejection = row.last_rejection;
    state->ledger_time = row.ledger_time;
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
    return Status::OK();
  }

  Status Commit(uint64_t after_position, const LogGroup& group) override {
    if (std::chrono::steady_clock::now() >= renew_after_) {
      PgPartition row;
      Status s = log_->RenewLease(kPartition, options_.node, epoch_, options_.lease_ttl, &row);
      if (!s.ok()) return s;
      renew_after_ = std::chrono::steady_clock::now() + options_.lease_ttl / 3;
    }
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
  std::chrono::steady_clock::time_point renew_after_;
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
    return Status::InvalidArgument(fmt::format(
        "partitions: the log has {} partitions; this version of ledgerd runs logs of 1 "
        "partition (create it with --partitions 1)",
        log->partitions()));
  }
  *upstream = std::make_shared<PgUpstream>(std::move(log), options);
  return Status::OK();
}

}  // namespace ledger
