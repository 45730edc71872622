#!/usr/bin/env bash
# The run command: installs missing Debian packages, builds (Release) if needed, and runs
# ledgerd on an embedded RocksDB in ./var/ledger, HTTP on 127.0.0.1:7701.
# The first run creates var/tokens.json with a development token (all tenants, system
# rights) and prints the token once. Extra arguments go to ledgerd (e.g. --clock manual,
# --http 127.0.0.1:8080). Stop it with Ctrl-C (it drains in-flight commands).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
scripts/build.sh release --target ledgerd --target ledgerctl --target ledger-replay >/dev/null
mkdir -p var
exec build/release/server/ledgerd --data var/ledger --tokens var/tokens.json --create-dev-token "$@"
