#!/usr/bin/env bash
# The test command: installs missing Debian packages, builds, and runs every test through
# CTest — the normal build, then the whole suite again under ASan + UBSan, then under
# ThreadSanitizer, then the libFuzzer targets (clang) for a bounded time each from their
# committed seed corpora.
#   scripts/test.sh            all four passes
#   scripts/test.sh --quick    the normal build only
#   scripts/test.sh --long     the normal build only, with the long fault runs (10 rounds of
#                              each kill in tests/cluster/ledger_failover_test.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

flavours=(dev asan tsan fuzz)
[ "${1:-}" = "--quick" ] && flavours=(dev)
long=0
[ "${1:-}" = "--long" ] && flavours=(dev) && long=1

for flavour in "${flavours[@]}"; do
  echo "== build ($flavour)"
  if [ "$flavour" = fuzz ]; then
    scripts/build.sh fuzz --target fuzz_all
  else
    scripts/build.sh "$flavour"
  fi
  echo "== test ($flavour)"
  # (libFuzzer reports its own crashes; abort_on_error would only hide its summary.)
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=$([ "$flavour" = fuzz ] && echo 0 || echo 1)
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  # Sanitizer builds run ~10x slower: long randomized tests take a tenth of their cases.
  if [ "$flavour" = dev ]; then unset LEDGER_TEST_SCALE; else export LEDGER_TEST_SCALE=0.1; fi
  # Rounds of each kill of the cluster fault test: 2, 1 under the sanitizers, 10 when long.
  if [ "$long" = 1 ]; then
    export LEDGER_FAILOVER_ROUNDS=10
  elif [ "$flavour" = dev ]; then
    export LEDGER_FAILOVER_ROUNDS=2
  else
    export LEDGER_FAILOVER_ROUNDS=1
  fi
  export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/tests/tsan.supp"
  (cd "build/$flavour" && ctest --output-on-failure -j "${LEDGER_JOBS:-2}" --timeout 600)
done
