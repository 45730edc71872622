// `ledger-bench network`: ledgerd measured from the outside — it starts a ledgerd, then
// 64 clients (threads with keep-alive connections) submit single-event commands and run
// access checks over HTTP/1.1 on loopback.
#pragma once

namespace ledger::bench {

// Parses its own options (argv after the verb) and prints one JSON line.
int RunNetworkBench(int argc, char** argv);

}  // namespace ledger::bench
