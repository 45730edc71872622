// `ledger-bench postgres`: the ledger on PostgreSQL beside the peer, in one run. It starts
// a throwaway PostgreSQL 15 (scripts/pg_throwaway.sh), a ledgerd on it (--postgres) and an
// embedded ledgerd, loads the same 16 tenants into each and into the peer — invite_member
// as one PL/pgSQL transaction per command (head row lock, command record, event, member
// row) — then times the same commands from --clients clients against each, in interleaved
// rounds, and prints the medians and the ratios (ledger on PostgreSQL ÷ peer, ÷ embedded).
#pragma once

namespace ledger::bench {

// Parses its own options (argv after the verb) and prints one JSON line.
int RunPostgresBench(int argc, char** argv);

}  // namespace ledger::bench
