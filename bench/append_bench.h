// `ledger-bench append`: durable group-committed appends versus naive synced puts.
#pragma once

#include <string>

namespace ledger::bench {

// Options of the append benchmark.
struct AppendBenchOptions {
  int clients = 64;
  int events = 200000;
  int event_bytes = 300;  // approximate stored size of one event
  std::string dir = "var/bench";
  // Clients as chains of asynchronous appends, one command outstanding each (as the
  // server's connections use the store), or (false) one blocked thread per client.
  // The raw baseline always uses one thread per client.
  bool async_clients = true;
  bool skip_raw = false;  // profiling only: no baseline, ratio meaningless
};

// Runs the benchmark and prints one JSON line; returns the process exit code.
int RunAppendBench(const AppendBenchOptions& options);

}  // namespace ledger::bench
