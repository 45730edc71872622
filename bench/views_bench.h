// `ledger-bench check | replay | asof`: the projections' read side — access checks from
// the materialized views, folding the log in a fresh process, and as-of reconstruction
// from snapshots.
#pragma once

#include <string>

namespace ledger::bench {

struct ViewsBenchOptions {
  std::string dir = "var/bench";
  int tenants = 10000;
  int users = 10;         // members per tenant
  int extra_events = 0;   // seat churn per tenant after the setup
  long checks = 2000000;  // check: how many to time
  int threads = 2;        // check: reader threads
  long events = 1000000;  // replay / asof: events in the log (asof: in one tenant)
  int samples = 200;      // asof: reconstructions to time
  bool reuse = false;     // use the ledger already in --dir (made by an earlier --keep)
  bool keep = false;      // leave the ledger in --dir
};

// Each prints one JSON line and returns the process exit code.
int RunCheckBench(const ViewsBenchOptions& options);
int RunReplayBench(const ViewsBenchOptions& options, const char* self);
int RunAsOfBench(const ViewsBenchOptions& options);
// `ledger-bench verify`: ledger-replay verify (chains, index, heads, views) over the log.
int RunVerifyBench(const ViewsBenchOptions& options);
// The child side of the replay benchmark: folds the log in --dir, prints events and seconds.
int RunReplayFold(const ViewsBenchOptions& options);

}  // namespace ledger::bench
