// `ledger-bench heartbeat`: lease heartbeats (R19) through ledgerd over loopback — it
// starts a ledgerd (system clock), checks out one floating seat per client, then the
// clients renew their leases over Cap'n Proto, one request outstanding per connection
// (one client thread drives every connection).
#pragma once

namespace ledger::bench {

// Parses its own options (argv after the verb) and prints one JSON line:
// {"bench":"heartbeat","clients","heartbeats","heartbeats_per_s","p50_ms","p99_ms"}.
int RunHeartbeatBench(int argc, char** argv);

}  // namespace ledger::bench
