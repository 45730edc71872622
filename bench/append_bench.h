// `ledger-bench append`: durable group-committed appends versus naive synced puts.
#pragma once

#include <string>

#include "clients.h"
#include "ledger/store.h"

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

// The append request of operation `n` of `client`: one member_invited event of about
// `event_bytes`, to one of 16 tenants.
AppendRequest BenchAppend(int client, long n, int event_bytes);

// `events` appends by `clients` clients (asynchronous chains, or blocked threads); client
// c's operations are numbered from `first_n` (command ids must not repeat on one store).
Run RunLedgerAppends(Store& store, int clients, int events, int event_bytes, bool async,
                     long first_n = 0);

}  // namespace ledger::bench
