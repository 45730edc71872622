// `ledger-bench network`: ledgerd measured from the outside — it starts a ledgerd, then
// 64 clients submit single-event commands and run access checks on loopback: over Cap'n
// Proto (one client thread drives every connection, --pipeline requests outstanding per
// connection), then over HTTP/1.1 (a thread with a keep-alive connection per client).
#pragma once

namespace ledger::bench {

// Parses its own options (argv after the verb) and prints one JSON line.
int RunNetworkBench(int argc, char** argv);

}  // namespace ledger::bench
