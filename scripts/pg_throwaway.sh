#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for tests and benchmarks, on a loopback port.
#   scripts/pg_throwaway.sh up DIR PORT [MAX_CONNECTIONS]   initdb DIR/data, start it
#                                         (max_connections 40 by default), print a conninfo
#   scripts/pg_throwaway.sh down DIR      stop it (immediate) and remove DIR
# PostgreSQL refuses to run as root: as root the server runs as the `postgres` user
# (runuser), otherwise as the caller. fsync and synchronous_commit stay on, as in
# production. `down` is idempotent and never fails, so it is safe in traps and watchdogs.
set -uo pipefail

bin=/usr/lib/postgresql/15/bin
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cmd=${1:-}
dir=${2:-}
[ -n "$dir" ] || { echo "usage: pg_throwaway.sh up DIR PORT | down DIR" >&2; exit 2; }
dir=$(realpath -m "$dir")  # the server resolves relative paths against its data directory

case "$cmd" in
  up)
    port=${3:?pg_throwaway.sh up: PORT required}
    max_connections=${4:-40}
    set -e
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
    as_pg "$bin/initdb" -D "$dir/data" -A trust -U postgres --no-sync -E UTF8 --locale=C \
      >"$dir/initdb.log" 2>&1
    as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c port=$port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir \
          -c fsync=on -c synchronous_commit=on -c max_connections=$max_connections \
          -c shared_buffers=64MB" start >"$dir/pg_ctl.log" 2>&1
    echo "host=127.0.0.1 port=$port user=postgres dbname=postgres"
    ;;
  down)
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "pg_throwaway.sh: unknown command '$cmd' (up|down)" >&2
    exit 2
    ;;
esac
