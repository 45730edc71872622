// LeaseSweeper: writes lease expiries (R19) when nothing else does.
//
// An expiry is a time rule (R15): it is written before the tenant's next command. A
// tenant whose clients vanished may send no next command, and its leases would count as
// in use on every reader until then. The sweeper submits a `tick` (actor system) for each
// tenant whose earliest lease has fallen due, every `interval`. Only for ledgers on the
// system clock: a manual clock moves only with the commands given.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "commands/service.h"
#include "ledger/periodic_thread.h"

namespace commands {

class LeaseSweeper {
 public:
  // Starts the sweeping thread. REQUIRES: `service` and `store` outlive the sweeper.
  LeaseSweeper(CommandService* service, const ledger::Store* store,
               std::chrono::milliseconds interval);
  // Stops the thread (waits for a sweep in progress).
  ~LeaseSweeper();

  // Ticks submitted so far.
  uint64_t ticks() const;

 private:
  // One sweep: a tick for each tenant whose earliest lease has fallen due.
  void Sweep();

  CommandService* const service_;
  const ledger::Store* const store_;
  std::atomic<uint64_t> ticks_{0};
  ledger::PeriodicThread thread_;  // last: stops before the rest goes
};

}  // namespace commands
