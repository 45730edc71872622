#!/usr/bin/env bash
# A real failover of the PostgreSQL layer of scripts/cluster.sh (DESIGN section 7):
# three PostgreSQL 15 under Patroni + etcd on 127.0.0.1, synchronous_mode_strict.
#
#  1. cluster.sh up into a temporary directory, on ports of its own
#     (LEDGER_CLUSTER_PORT_BASE, default the first free of 15440, 16440, 17440, 18440);
#  2. a writer inserts numbered rows through the multi-host conninfo, one transaction and
#     one psql per row, never retrying a number, and records which were acknowledged;
#  3. SIGKILL of the primary's postmaster (the leader from Patroni's GET /cluster, its pid
#     from the leader's postmaster.pid);
#  4. asserts: another node is leader within 30 s; writes resume through the same conninfo
#     on another server within 30 s; every acknowledged row is on the new primary exactly
#     once (unacknowledged ones at most once);
#  5. prints the failover time (kill → first acknowledged write that started after it).
# cluster.sh down runs in an EXIT trap, and a detached watchdog runs it too if this script
# is killed outright (a CTest timeout sends SIGKILL).
# Needs root (PostgreSQL runs as the postgres user) and scripts/setup.sh's packages;
# exits 77 (skipped) when not root.
set -uo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
CLUSTER=$REPO/scripts/cluster.sh
# shellcheck source=tests/cluster/lib.sh
source "$REPO/tests/cluster/lib.sh"
ELECTION_LIMIT=30   # seconds from the kill to a new running leader
RESUME_LIMIT=30     # seconds from the kill to the first acknowledged write after it

WORK=""
WRITER_PID=""
T0=$SECONDS

log() { echo "[$((SECONDS - T0))s] $*"; }
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

now_us() { echo "${EPOCHREALTIME/./}"; }  # microseconds since the epoch

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }


# ---------------------------------------------------------------- clean-up

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$WRITER_PID" ]; then
    touch "$WORK/stop"
    kill "$WRITER_PID" 2>/dev/null
    wait "$WRITER_PID" 2>/dev/null
  fi
  if [ -n "$WORK" ]; then
    if [ "$rc" -ne 0 ]; then
      echo "---- cluster state at failure" >&2
      "$CLUSTER" status "$WORK/cluster" >&2 2>&1
      local f
      for f in "$WORK"/cluster/patroni*.log "$WORK/writer.err"; do
        [ -f "$f" ] || continue
        echo "---- last lines of $f" >&2
        tail -n 25 "$f" >&2
      done
    fi
    "$CLUSTER" down "$WORK/cluster" >/dev/null 2>&1
    rm -rf "$WORK"
  fi
  log "cluster down, $WORK removed"
  exit "$rc"
}

# ---------------------------------------------------------------- the cluster

psql_rw() { psql "$CONNINFO connect_timeout=2" -XqAt -v ON_ERROR_STOP=1 "$@"; }

# ---------------------------------------------------------------- the writer

# One line per attempt in $WORK/writes: "n start_us end_us ok PORT" or "n start_us end_us fail".
# Each number is tried once: a failed attempt may still have committed (its answer lost),
# so retrying it could legitimately duplicate a row.
writer() {
  local n=0 start out
  while [ ! -e "$WORK/stop" ]; do
    n=$((n + 1))
    start=$(now_us)
    if out=$(timeout 30 psql "$CONNINFO connect_timeout=2" -XqAt -v ON_ERROR_STOP=1 \
      -c "INSERT INTO failover_rows (n) VALUES ($n) RETURNING inet_server_port()" \
      2>>"$WORK/writer.err"); then
      echo "$n $start $(now_us) ok $out"
    else
      echo "$n $start $(now_us) fail"
      sleep 0.05
    fi
  done >>"$WORK/writes"
}

acked_count() { awk '$4 == "ok"' "$WORK/writes" | wc -l; }

# The first acknowledged write that started at or after $1 (µs): "n start end ok port".
first_ack_after() { awk -v t="$1" '$4 == "ok" && $2 >= t { print; exit }' "$WORK/writes"; }

# ---------------------------------------------------------------- the test

main() {
  [ "$(id -u)" -eq 0 ] || { echo "skipped: needs root (PostgreSQL runs as postgres)"; exit 77; }
  local base
  base=$(pick_base 15440) || exit 1
  WORK=$(mktemp -d /tmp/ledger-failover.XXXXXX)
  chmod 0755 "$WORK"  # the postgres user must reach the cluster inside
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  start_watchdog "$WORK/cluster" "$WORK"
  REST_PORTS=($((base + 11)) $((base + 12)) $((base + 13)))

  log "cluster.sh up (ports from $base) in $WORK/cluster"
  LEDGER_CLUSTER_PORT_BASE=$base LEDGER_CLUSTER_LEDGERD=0 "$CLUSTER" up "$WORK/cluster" >"$WORK/up.out" 2>&1 ||
    { cat "$WORK/up.out" >&2; fail "cluster.sh up failed"; }
  CONNINFO=$(cat "$WORK/cluster/conninfo")
  log "conninfo: $CONNINFO"

  psql_rw -c "CREATE TABLE failover_rows (id bigserial PRIMARY KEY, n int NOT NULL,
                at timestamptz NOT NULL DEFAULT clock_timestamp())" ||
    fail "cannot create the table through the multi-host conninfo"

  : >"$WORK/writes"
  writer &
  WRITER_PID=$!
  local deadline=$((SECONDS + 30))
  while [ "$(acked_count)" -lt 30 ]; do
    ((SECONDS < deadline)) || fail "the writer got fewer than 30 acknowledgements in 30 s"
    sleep 0.1
  done

  # The victim: the leader's postmaster.
  local old new pid old_port
  old=$(running_leader)
  [ -n "$old" ] || fail "no running leader before the kill"
  old_port=$(cluster_json | jq -r --arg n "$old" '.members[] | select(.name == $n) | .port')
  pid=$(head -n1 "$WORK/cluster/$old/postmaster.pid" 2>/dev/null)
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = postgres ] ||
    fail "no postmaster for leader $old (postmaster.pid: '${pid:-}')"
  local before
  before=$(acked_count)
  local t_kill
  t_kill=$(now_us)
  kill -KILL "$pid" || fail "cannot SIGKILL postmaster $pid"
  log "SIGKILL of the primary's postmaster (leader $old, pid $pid, port $old_port); $before rows acknowledged"

  # A new leader, running.
  local t_elected=""
  deadline=$((SECONDS + ELECTION_LIMIT))
  while ((SECONDS < deadline)); do
    new=$(running_leader)
    if [ -n "$new" ] && [ "$new" != "$old" ]; then
      t_elected=$(now_us)
      break
    fi
    sleep 0.1
  done
  [ -n "$t_elected" ] || fail "no new leader within ${ELECTION_LIMIT}s of the kill (leader: '${new:-none}')"
  log "new leader $new after $(secs $((t_elected - t_kill)))s"

  # Writes resume, on another server.
  local first=""
  deadline=$((SECONDS + RESUME_LIMIT))
  while ((SECONDS < deadline)); do
    first=$(first_ack_after "$t_kill")
    [ -n "$first" ] && break
    sleep 0.1
  done
  [ -n "$first" ] || fail "no write acknowledged within ${RESUME_LIMIT}s of the kill"
  local first_end first_port
  read -r _ _ first_end _ first_port <<<"$first"
  [ "$first_port" != "$old_port" ] ||
    fail "the first write after the kill was acknowledged by the killed server's port $old_port"
  local failover_us=$((first_end - t_kill))
  ((failover_us <= RESUME_LIMIT * 1000000)) ||
    fail "writes resumed only after $(secs "$failover_us")s (limit ${RESUME_LIMIT}s)"
  log "writes resumed on port $first_port"

  # A little more writing on the new primary, then stop the writer.
  local resumed=$(($(acked_count) + 20))
  deadline=$((SECONDS + 15))
  while [ "$(acked_count)" -lt "$resumed" ] && ((SECONDS < deadline)); do sleep 0.1; done
  touch "$WORK/stop"
  wait "$WRITER_PID"
  WRITER_PID=""

  verify_rows "$new"
  echo "failover time: $(secs "$failover_us") s (SIGKILL of the primary's postmaster →" \
    "first acknowledged write), new leader after $(secs $((t_elected - t_kill))) s"
  log "PASS"
}

secs() { printf '%d.%03d' $(($1 / 1000000)) $((($1 % 1000000) / 1000)); }

# Every acknowledged number exactly once on the new primary; no number twice.
verify_rows() {
  local leader=$1 server
  server=$(psql_rw -c "SELECT inet_server_port() || ' ' || pg_is_in_recovery()") ||
    fail "cannot read through the conninfo after the failover"
  log "reading the rows from port ${server% *} (in recovery: ${server#* })"
  [ "${server#* }" = false ] || fail "the conninfo reached a server in recovery"
  local leader_port
  leader_port=$(cluster_json | jq -r --arg n "$leader" '.members[] | select(.name == $n) | .port')
  [ "${server% *}" = "$leader_port" ] ||
    fail "the conninfo reached port ${server% *}, not the new leader $leader (port $leader_port)"
  psql_rw -F ' ' -c "SELECT n, count(*) FROM failover_rows GROUP BY n ORDER BY n" \
    >"$WORK/present" || fail "cannot read the rows"
  awk '$4 == "ok" { print $1 }' "$WORK/writes" | sort -n >"$WORK/acked"
  local acked attempts duplicates missing unacked_present
  acked=$(wc -l <"$WORK/acked")
  attempts=$(wc -l <"$WORK/writes")
  duplicates=$(awk '$2 != 1' "$WORK/present")
  missing=$(awk 'NR == FNR { present[$1] = 1; next } !($1 in present)' "$WORK/present" "$WORK/acked")
  unacked_present=$(awk 'NR == FNR { acked[$1] = 1; next } !($1 in acked)' "$WORK/acked" "$WORK/present" |
    wc -l)
  log "$attempts attempts, $acked acknowledged, $(wc -l <"$WORK/present") numbers present" \
    "($unacked_present of them unacknowledged)"
  [ -z "$duplicates" ] || fail "rows present more than once (n count): $(tr "\n" " " <<<"$duplicates" | head -c 300)"
  [ -z "$missing" ] || fail "acknowledged rows lost: $(tr "\n" " " <<<"$missing" | head -c 300)"
}

main "$@"
