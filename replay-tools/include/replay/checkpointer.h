// Signs tenants' heads in the background (issue 21): a tenant's head is signed once it
// has moved `every_events` past its last kept note, and every `every` when it moved at
// all. Only while the store writes its log (a follower of a PostgreSQL log signs nothing).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "ledger/periodic_thread.h"
#include "ledger/store.h"
#include "replay/checkpoints.h"

namespace replay {

// When the Checkpointer signs.
struct CheckpointerOptions {
  uint64_t every_events = 1000;
  std::chrono::seconds every{60};
};

// A thread that keeps signed checkpoints of every tenant; stops when destroyed.
class Checkpointer {
 public:
  Checkpointer(const ledger::Store* store, Checkpoints* checkpoints, CheckpointerOptions options);
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Checkpoints signed since the start (for tests and metrics).
  uint64_t signed_count() const;

 private:
  // Every poll: signs what is due.
  void Poll();
  // Signs what is due; `timed`: the period has passed (any moved head is due).
  void Round(bool timed);

  const ledger::Store* store_;
  Checkpoints* checkpoints_;
  const CheckpointerOptions options_;
  // The thread's own: tenant -> version of its last kept note, and the last timed round.
  std::map<std::string, uint64_t> kept_;
  std::chrono::steady_clock::time_point last_timed_ = std::chrono::steady_clock::now();
  std::atomic<uint64_t> signed_{0};
  ledger::PeriodicThread thread_;  // last: stops before the rest goes
};

}  // namespace replay
