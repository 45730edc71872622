// `ledger-bench export`: ledger-replay export of the whole log, timed into a stream that
// counts and discards the bytes (the formatting and reading cost, not the disk's).
#pragma once

namespace ledger::bench {

// Parses its own options (argv[1] is "export"):
//   --events N (default 1,000,000)  --format jsonl|csv (default jsonl)  --dir DIR
//   --keep (leave the ledger in DIR/export)  --reuse (use the one kept there)  --json
// Prints one JSON line and returns the process exit code.
int RunExportBench(int argc, char** argv);

}  // namespace ledger::bench
