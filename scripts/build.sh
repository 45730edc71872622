#!/usr/bin/env bash
# Configures and builds one flavour of the project into build/<flavour>.
#   scripts/build.sh [dev|release|asan|tsan|fuzz] [cmake --build args...]
#   dev      RelWithDebInfo (default)    release  Release (benchmarks)
#   asan     ASan + UBSan                tsan     ThreadSanitizer
#   fuzz     clang, libFuzzer targets only (tests/fuzz), ASan + UBSan
set -euo pipefail
cd "$(dirname "$0")/.."

flavour=${1:-dev}
shift || true
case "$flavour" in
  dev) type=RelWithDebInfo; sanitize="" ;;
  release) type=Release; sanitize="" ;;
  asan) type=Debug; sanitize="address,undefined" ;;
  tsan) type=RelWithDebInfo; sanitize="thread" ;;
  fuzz) type=RelWithDebInfo; sanitize="address,undefined" ;;
  *) echo "build.sh: unknown flavour '$flavour' (dev|release|asan|tsan|fuzz)" >&2; exit 2 ;;
esac
extra=()
if [ "$flavour" = fuzz ]; then
  extra=(-DLEDGER_FUZZ=ON -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++)
fi

# ccache keys on paths relative to the checkout, so a fresh clone elsewhere (CI) reuses
# what an earlier build of the same sources compiled.
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true

generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
dir="build/$flavour"
# (A configure that failed half-way leaves a cache but no build files: configure again.)
if [ ! -f "$dir/CMakeCache.txt" ] || { [ ! -f "$dir/build.ninja" ] && [ ! -f "$dir/Makefile" ]; }; then
  cmake -S . -B "$dir" "${generator[@]}" -DCMAKE_BUILD_TYPE="$type" -DLEDGER_SANITIZE="$sanitize" \
    "${extra[@]}" >/dev/null
fi
cmake --build "$dir" -j "${LEDGER_JOBS:-2}" "$@"
