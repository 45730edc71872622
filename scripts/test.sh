#!/usr/bin/env bash
# The test command: installs missing Debian packages, builds, and runs every test through
# CTest — the normal build, then the whole suite again under ASan + UBSan, then under
# ThreadSanitizer.
#   scripts/test.sh            all three passes
#   scripts/test.sh --quick    the normal build only
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

flavours=(dev asan tsan)
[ "${1:-}" = "--quick" ] && flavours=(dev)

for flavour in "${flavours[@]}"; do
  echo "== build ($flavour)"
  scripts/build.sh "$flavour"
  echo "== test ($flavour)"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  # Sanitizer builds run ~10x slower: long randomized tests take a tenth of their cases.
  if [ "$flavour" = dev ]; then unset LEDGER_TEST_SCALE; else export LEDGER_TEST_SCALE=0.1; fi
  export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/tests/tsan.supp"
  (cd "build/$flavour" && ctest --output-on-failure -j "${LEDGER_JOBS:-2}" --timeout 600)
done
