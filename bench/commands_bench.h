// `ledger-bench commands`: single-event commands parsed, decided and appended through
// the CommandService, against plain store appends in the same run (in alternating rounds).
#pragma once

#include <string>

namespace ledger::bench {

// Options of the commands benchmark.
struct CommandsBenchOptions {
  int clients = 64;
  int commands = 100000;
  int rounds = 5;  // the two ledgers take turns, commands/rounds operations each
  std::string dir = "var/bench";
};

// Runs the benchmark and prints one JSON line; returns the process exit code.
int RunCommandsBench(const CommandsBenchOptions& options);

}  // namespace ledger::bench
