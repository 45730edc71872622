// `ledger-bench commands`: single-event commands parsed, decided and appended through
// the CommandService of a store opened as ledgerd opens it (its views projected in the
// same batch), against plain store appends in the same run (in alternating rounds), and
// optionally against the same commands on a store without views.
#pragma once

#include <string>

namespace ledger::bench {

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
