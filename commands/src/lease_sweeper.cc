#include "commands/lease_sweeper.h"

#include <nlohmann/json.hpp>

#include "ledger/clock.h"

namespace commands {

LeaseSweeper::LeaseSweeper(CommandService* service, const ledger::Store* store,
                           std::chrono::milliseconds interval)
    : service_(service), store_(store), thread_(interval, [this] { Sweep(); }) {}

LeaseSweeper::~LeaseSweeper() = default;

uint64_t LeaseSweeper::ticks() const { return ticks_.load(); }

void LeaseSweeper::Sweep() {
  // A copy that follows another node's writes leaves the sweeping to that node.
  if (store_->clock_mode() != ledger::ClockMode::kSystem || store_->FollowsUpstream()) return;
  const std::vector<std::string> due = service_->TenantsWithLeasesDue(ledger::SystemClock().Now());
  for (const auto& tenant : due) {
    if (!store_->WritesTenant(tenant)) continue;  // its partition's writer sweeps it
    nlohmann::json tick = {{"type", "tick"}, {"tenant", tenant}, {"actor", "system"}};
    // Blocking: one tick at a time keeps the sweeper from flooding the writer.
    service_->ExecuteJson(tick.dump());
    ticks_ += 1;
  }
}

}  // namespace commands
