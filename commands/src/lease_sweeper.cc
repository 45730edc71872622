#include "commands/lease_sweeper.h"

#include <nlohmann/json.hpp>

#include "ledger/clock.h"

namespace commands {

LeaseSweeper::LeaseSweeper(CommandService* service, const ledger::Store* store,
                           std::chrono::milliseconds interval)
    : service_(service), store_(store), interval_(interval) {
  thread_ = std::thread([this] { Loop(); });
}

LeaseSweeper::~LeaseSweeper() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

uint64_t LeaseSweeper::ticks() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ticks_;
}

void LeaseSweeper::Loop() {
  ledger::SystemClock clock;
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, interval_, [this] { return stopping_; })) {
    // A copy that follows another node's writes leaves the sweeping to that node.
    if (store_->clock_mode() != ledger::ClockMode::kSystem || store_->FollowsUpstream()) continue;
    lock.unlock();
    const std::vector<std::string> due = service_->TenantsWithLeasesDue(clock.Now());
    for (const auto& tenant : due) {
      nlohmann::json tick = {{"type", "tick"}, {"tenant", tenant}, {"actor", "system"}};
      // Blocking: one tick at a time keeps the sweeper from flooding the writer.
      service_->ExecuteJson(tick.dump());
    }
    lock.lock();
    ticks_ += due.size();
  }
}

}  // namespace commands
