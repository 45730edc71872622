// `ledger-bench commands`: single-event commands parsed, decided and appended through
// the CommandService of a store opened as ledgerd opens it (its views projected in the
// same batch), against plain store appends in the same run (in alternating rounds), and
// optionally against the same commands on a store without views.
#pragma once

#include <memory>
#include <string>

#include "commands/service.h"
#include "ledger/store.h"

namespace ledger::bench {

// A store as ledgerd opens it (server/tools/ledgerd.cc): side tables, and the views when
// `views` is set; without them, the bare store the baseline appends to. nullptr (printed)
// on a failure.
std::unique_ptr<Store> OpenStore(const std::string& path, bool views);

// Defines product bench.pro and creates tenants t0.. (owner{t}, owner{t}@bench.test) on
// `service`; false if any was not accepted.
bool CreateBenchTenants(commands::CommandService& service, int tenants);

// Options of the commands benchmark.
struct CommandsBenchOptions {
  int clients = 64;
  int commands = 100000;
  int rounds = 5;  // the two ledgers take turns, commands/rounds operations each
  std::string dir = "var/bench";
  // Also run the commands on a store without views (the configuration this bench measured
  // before issue 20), in the same rounds, and print both.
  bool compare_without_views = false;
};

// Runs the benchmark and prints one JSON line; returns the process exit code.
int RunCommandsBench(const CommandsBenchOptions& options);

}  // namespace ledger::bench
