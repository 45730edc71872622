#!/usr/bin/env bash
# Installs the Debian 12 packages the ledger needs, only those that are missing.
# Safe to run again; needs root (or sudo) only when something is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  librocksdb-dev
  capnproto libcapnp-dev
  libboost-dev libboost-program-options-dev
  libfmt-dev
  catch2
  libssl-dev
  nlohmann-json3-dev
  libsimdjson-dev
  libcsv-dev
  clang libclang-rt-14-dev
  postgresql-15 libpq-dev
  # scripts/cluster.sh: Patroni 3.0.2 (its Depends bring python3-psycopg2 and python3-etcd;
  # its etcd3 client is built in), etcd 3.4 and etcdctl, curl and jq for Patroni's REST API.
  # Where the package scripts start system services (etcd on 2379, PostgreSQL "main" on
  # 5432, patroni.service without a config), cluster.sh leaves them alone: its ports differ.
  patroni etcd-server etcd-client curl jq
  # tests/console: the web console in headless Chromium, driven by Selenium.
  chromium chromium-driver python3-selenium
  # tests/console/openapi_test.py: responses checked against openapi.json (JSON Schema).
  python3-jsonschema
  # tools/verify_export.py (and its tests): Ed25519 for the auditor's standalone check.
  python3-cryptography
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
