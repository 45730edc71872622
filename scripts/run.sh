#!/usr/bin/env bash
# The run command: installs missing Debian packages, builds (Release) if needed, and runs
# the ledger on an embedded RocksDB in ./var/ledger.
# Until ledgerd exists this runs the ledger demo: it appends an event and reads the
# stream back with its hash chain. Pass another data directory as the first argument.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
scripts/build.sh release --target ledger-demo --target ledgerctl --target ledger-replay >/dev/null
data=${1:-var/ledger}
mkdir -p "$data"
exec build/release/ledger/ledger-demo "$data"
