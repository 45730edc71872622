#!/usr/bin/env bash
# A local high-availability PostgreSQL cluster for the replicated log (DESIGN section 7):
# one etcd, three PostgreSQL 15 nodes under Patroni (one primary, synchronous standbys,
# synchronous_mode_strict), all on 127.0.0.1 of this machine, plus three ledgerd nodes
# (n1 writes; n2 and n3 follow the log, serve checks and reads, and take over when the
# writer dies).
#
#   scripts/cluster.sh up     [DIR]   start everything, wait for a leader and a sync standby,
#                                     print the addresses and the libpq conninfo
#   scripts/cluster.sh status [DIR]   the Patroni cluster table (leader, sync standby, lag),
#                                     etcd health, the ledgerd nodes
#   scripts/cluster.sh down   [DIR]   stop everything and remove DIR; never fails (traps)
#   scripts/cluster.sh start-node N [DIR]   start ledgerd nN again after it stopped or died
#
# DIR defaults to var/cluster in the repository. ledgerd nodes start when a built ledgerd
# (build/release, build/dev, or $LEDGERD) lists --postgres in its --help, unless
# LEDGER_CLUSTER_LEDGERD=0. LEDGER_CLUSTER_NODES=2 starts two PostgreSQL (and ledgerd)
# nodes instead of three (ledger-bench postgres --patroni). LEDGER_CLUSTER_SPREAD=1 at `up`
# starts the ledgerd nodes with --spread-partitions: each writes its share of the log's
# partitions and forwards the others' commands (kept in cluster.env). Ports are LEDGER_CLUSTER_PORT_BASE (B,
# default 5440) plus a fixed offset, away from the system services Debian may run (etcd
# 2379, PostgreSQL 5432, Patroni 8008), which this script never touches:
#   PostgreSQL      B+1..B+3   (5441-5443)    Patroni REST   B+11..B+13 (5451-5453)
#   ledgerd capnp   B+21..B+23 (5461-5463)    ledgerd HTTP   B+31..B+33 (5471-5473)
#   etcd client     B+40       (5480)         etcd peer      B+41       (5481)
#
# Layout of DIR (processes run in the background; `down` reads everything from here):
#   cluster.env           the ports of this cluster (written first: marks DIR as ours)
#   conninfo              the multi-host libpq conninfo (target_session_attrs=read-write)
#   etcd/ etcd.log etcd.pid                     the single etcd member
#   pg1..pg3/             PostgreSQL data directories (owned by postgres)
#   run/                  Patroni's pgpass files (a directory postgres may write)
#   patroni1..3.yml .log .pid                   one Patroni per node; PostgreSQL's own
#                                               output goes to the Patroni log
#   n1..n3/ ledgerd1..3.log .pid .ready, tokens.json, ledgerd.bin   ledgerd nodes (if started)
#
# PostgreSQL refuses to run as root: Patroni (and so PostgreSQL) runs as the `postgres`
# user (runuser). Authentication is trust on 127.0.0.1 for every user, replication
# included: a development cluster, never expose it. A crashed primary fails over to the
# synchronous standby at once (primary_start_timeout: 0) instead of restarting in place;
# with synchronous_mode_strict the standby has every acknowledged commit.
set -uo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
PG_BIN=/usr/lib/postgresql/15/bin
NODES=(1 2 3)  # LEDGER_CLUSTER_NODES=2 at `up`: two of each (kept in cluster.env)
SPREAD=0       # LEDGER_CLUSTER_SPREAD=1 at `up`: ledgerd --spread-partitions (cluster.env)

die() { echo "cluster.sh: $*" >&2; exit 1; }

# ---------------------------------------------------------------- ports and paths

set_ports() {  # from the base B
  local i
  BASE=$1
  ETCD_CLIENT=$((BASE + 40))
  ETCD_PEER=$((BASE + 41))
  for i in "${NODES[@]}"; do
    PG_PORT[i]=$((BASE + i))
    REST_PORT[i]=$((BASE + 10 + i))
    CAPNP_PORT[i]=$((BASE + 20 + i))
    HTTP_PORT[i]=$((BASE + 30 + i))
  done
}

load_ports() {  # of the cluster in $DIR (0: found)
  local base nodes
  base=$(sed -n 's/^BASE=//p' "$DIR/cluster.env" 2>/dev/null) || return 1
  [ -n "$base" ] || return 1
  nodes=$(sed -n 's/^NODES=//p' "$DIR/cluster.env" 2>/dev/null)
  [ -z "$nodes" ] || set_nodes "$nodes"
  SPREAD=$(sed -n 's/^SPREAD=//p' "$DIR/cluster.env" 2>/dev/null)
  SPREAD=${SPREAD:-0}
  set_ports "$base"
}

set_nodes() {  # how many PostgreSQL (and ledgerd) nodes: 2 or 3
  case "$1" in
    2) NODES=(1 2) ;;
    3) NODES=(1 2 3) ;;
    *) die "LEDGER_CLUSTER_NODES must be 2 or 3, not '$1'" ;;
  esac
}

all_ports() {
  echo "$ETCD_CLIENT $ETCD_PEER ${PG_PORT[*]} ${REST_PORT[*]} ${CAPNP_PORT[*]} ${HTTP_PORT[*]}"
}

conninfo() {
  local hosts ports
  hosts=$(printf '127.0.0.1,%.0s' "${NODES[@]}")
  ports=$(IFS=,; echo "${PG_PORT[*]}")
  echo "host=${hosts%,} port=$ports user=postgres dbname=postgres target_session_attrs=read-write"
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---------------------------------------------------------------- processes

# The pid in pid file $1 if that process runs and is ours: its command line names a file
# of DIR (a stale pid file, after a reboot, may name someone else's process).
our_pid() {
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$pid" ] && tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF "$DIR/" || return 1
  echo "$pid"
}

pid_alive() { our_pid "$1" >/dev/null; }

# Sends TERM to the process in a pid file, waits up to $2 seconds, then KILL.
stop_pidfile() {
  local file=$1 grace=$2 pid i
  pid=$(our_pid "$file") || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < grace * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null
}

# Runs "$@" in the background, in its own session (a closed terminal does not stop it),
# output to $log; the process itself writes its pid to $pidfile (it is the exec'd
# program, not a wrapper), and this returns once it has. $user: "root" or "postgres".
start_bg() {
  local user=$1 pidfile=$2 log=$3
  shift 3
  : >"$pidfile"
  if [ "$user" = postgres ]; then
    chown postgres: "$pidfile"
    setsid runuser -u postgres -- sh -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" \
      </dev/null >>"$log" 2>&1 &
  else
    setsid sh -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" </dev/null >>"$log" 2>&1 &
  fi
  wait_for 10 test -s "$pidfile"
}

# Waits up to $1 seconds for "$2..." to succeed.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  while ((SECONDS < deadline)); do
    "$@" && return 0
    sleep 0.25
  done
  "$@"
}

# ---------------------------------------------------------------- etcd

start_etcd() {
  start_bg root "$DIR/etcd.pid" "$DIR/etcd.log" \
    etcd --name etcd0 --data-dir "$DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_CLIENT" \
    --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER" \
    --initial-cluster "etcd0=http://127.0.0.1:$ETCD_PEER" \
    --initial-cluster-token "ledger-$BASE" --initial-cluster-state new
  wait_for 30 etcd_healthy || fail_up "etcd did not become healthy (see $DIR/etcd.log)"
}

etcd_healthy() {
  curl -fsS --max-time 2 "http://127.0.0.1:$ETCD_CLIENT/health" 2>/dev/null |
    grep -q '"health":"true"'
}

# ---------------------------------------------------------------- Patroni

# The configuration of node $1. bootstrap.dcs is written to etcd by the first node only.
patroni_config() {
  local i=$1
  cat <<EOF
scope: ledger
namespace: /ledger/
name: pg$i
log:
  level: INFO
restapi:
  listen: 127.0.0.1:${REST_PORT[i]}
  connect_address: 127.0.0.1:${REST_PORT[i]}
etcd3:
  hosts: 127.0.0.1:$ETCD_CLIENT
bootstrap:
  dcs:
    ttl: 10
    loop_wait: 2
    retry_timeout: 5
    maximum_lag_on_failover: 1048576
    synchronous_mode: true
    synchronous_mode_strict: true
    primary_start_timeout: 0
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        wal_level: replica
        hot_standby: "on"
        max_connections: 100
        max_wal_senders: 10
        max_replication_slots: 10
        wal_keep_size: 128MB
        fsync: "on"
        synchronous_commit: "on"
        # A standby whose primary vanished retries the new one after 1 s, not 5 s.
        wal_retrieve_retry_interval: 1s
  initdb:
    - encoding: UTF8
    - locale: C
    - data-checksums
postgresql:
  listen: 127.0.0.1:${PG_PORT[i]}
  connect_address: 127.0.0.1:${PG_PORT[i]}
  data_dir: $DIR/pg$i
  bin_dir: $PG_BIN
  pgpass: $DIR/run/pgpass$i
  authentication:
    superuser:
      username: postgres
    replication:
      username: replicator
    rewind:
      username: postgres
  parameters:
    unix_socket_directories: ''
    shared_buffers: 64MB
  pg_hba:
    - host all all 127.0.0.1/32 trust
    - host replication all 127.0.0.1/32 trust
tags:
  nofailover: false
  noloadbalance: false
  clonefrom: false
  nosync: false
watchdog:
  mode: off
EOF
}

start_patroni() {
  local i
  install -d -o postgres -g postgres -m 0700 "$DIR/run"
  for i in "${NODES[@]}"; do
    install -d -o postgres -g postgres -m 0700 "$DIR/pg$i"
    patroni_config "$i" >"$DIR/patroni$i.yml"
    chown postgres: "$DIR/patroni$i.yml"
    start_bg postgres "$DIR/patroni$i.pid" "$DIR/patroni$i.log" patroni "$DIR/patroni$i.yml"
  done
}

# GET /cluster from the first Patroni that answers.
cluster_json() {
  local i
  for i in "${NODES[@]}"; do
    curl -fsS --max-time 2 "http://127.0.0.1:${REST_PORT[i]}/cluster" 2>/dev/null && return 0
  done
  return 1
}

# A leader, a synchronous standby, every node running. Fails the start at once when every
# Patroni has exited.
cluster_ready() {
  local i alive=""
  for i in "${NODES[@]}"; do pid_alive "$DIR/patroni$i.pid" && alive=1; done
  [ -n "$alive" ] || fail_up "every Patroni exited"
  cluster_json | jq -e --argjson n "${#NODES[@]}" '
    [.members[] | select(.state == "running")] as $up
    | ($up | map(select(.role == "leader")) | length) == 1
      and ($up | map(select(.role == "sync_standby")) | length) >= 1
      and ($up | length) == $n' >/dev/null 2>&1
}

# ---------------------------------------------------------------- ledgerd

# Sets LEDGERD_BIN to the first ledgerd built (or $LEDGERD) that has --postgres, and
# BUILT to the first built at all.
find_ledgerd() {
  local f
  BUILT="" LEDGERD_BIN=""
  for f in "${LEDGERD:-}" "$REPO/build/release/server/ledgerd" "$REPO/build/dev/server/ledgerd"; do
    [ -n "$f" ] && [ -x "$f" ] || continue
    BUILT=${BUILT:-$f}
    # (test the text --help prints, not a pipeline's status)
    if [[ "$("$f" --help 2>&1)" == *--postgres* ]]; then
      LEDGERD_BIN=$f
      return 0
    fi
  done
  return 1
}

ledgerd_ready() {
  pid_alive "$DIR/ledgerd$1.pid" || fail_up "ledgerd n$1 exited (see $DIR/ledgerd$1.log)"
  test -s "$DIR/ledgerd$1.ready"
}

# A follower serves checks and reads from its copy of the log and waits for the log's
# leases (the log has 16 partitions and one node writes them all; the others follow and
# take over within the leases' 5 s when it dies).
ledgerd_following() {
  ledgerd_ready "$1" && grep -q "this node follows the log" "$DIR/ledgerd$1.log"
}

# Starts ledgerd n$1 with binary $2 (the log's writer if the log is free, else a follower).
start_ledgerd_node() {
  local i=$1 bin=$2 extra=()
  [ "$i" = 1 ] && [ ! -e "$DIR/tokens.json" ] && extra=(--create-dev-token)
  [ "$SPREAD" = 1 ] && extra+=(--spread-partitions)
  rm -f "$DIR/ledgerd$i.ready"
  start_bg root "$DIR/ledgerd$i.pid" "$DIR/ledgerd$i.log" \
    "$bin" --postgres "$(conninfo)" --node "n$i" --data "$DIR/n$i" \
    --listen "127.0.0.1:${CAPNP_PORT[i]}" --http "127.0.0.1:${HTTP_PORT[i]}" \
    --tokens "$DIR/tokens.json" --ready-file "$DIR/ledgerd$i.ready" "${extra[@]}" \
    --signing-key "$DIR/signing.key"
}

# Starts n1 first (it creates DIR/tokens.json with a development token and DIR/signing.key,
# the one key every node signs checkpoints with, takes the log and serves), then n2 and n3
# on the same files as followers. Sets TOKEN.
start_ledgerd() {
  local bin=$1 i
  TOKEN=""
  echo "$bin" >"$DIR/ledgerd.bin"
  for i in "${NODES[@]}"; do
    start_ledgerd_node "$i" "$bin"
    if [ "$i" = 1 ] || [ "$SPREAD" = 1 ]; then
      wait_for 60 ledgerd_ready "$i" ||
        fail_up "ledgerd n$i did not become ready (see $DIR/ledgerd$i.log)"
    else
      wait_for 60 ledgerd_following "$i" ||
        fail_up "ledgerd n$i does not follow the log (see $DIR/ledgerd$i.log)"
    fi
  done
  TOKEN=$(sed -n 's/^development token.*: //p' "$DIR/ledgerd1.log" | head -n1)
}

# Starts ledgerd node N again (after it stopped or was killed), with the binary of `up`;
# waits until it serves (as the writer or a follower).
cmd_start_node() {
  local i=$1 bin
  load_ports || die "no cluster in $DIR"
  [[ "$i" =~ ^[123]$ ]] || die "start-node: expected a node number 1..3, not '$i'"
  read -r bin <"$DIR/ledgerd.bin" 2>/dev/null || die "start-node: this cluster runs no ledgerd"
  pid_alive "$DIR/ledgerd$i.pid" && die "start-node: ledgerd n$i already runs"
  echo "== ledgerd n$i restarted $(date -u +%FT%TZ)" >>"$DIR/ledgerd$i.log"
  start_ledgerd_node "$i" "$bin"
  wait_for 60 test -s "$DIR/ledgerd$i.ready" ||
    die "ledgerd n$i did not serve within 60 s (see $DIR/ledgerd$i.log)"
  echo "ledgerd n$i serves on http://127.0.0.1:${HTTP_PORT[i]}"
}

# ---------------------------------------------------------------- up / status / down

fail_up() {
  echo "cluster.sh up: $*" >&2
  local log
  for log in "$DIR"/*.log; do
    [ -f "$log" ] || continue
    echo "---- last lines of $log" >&2
    tail -n 15 "$log" >&2
  done
  echo "cluster.sh up: stopping what was started" >&2
  cmd_down >/dev/null 2>&1
  exit 1
}

check_can_start() {
  [ "$(id -u)" -eq 0 ] || die "run as root (PostgreSQL runs as the postgres user via runuser)"
  [ -x "$PG_BIN/postgres" ] && command -v patroni >/dev/null && command -v etcd >/dev/null &&
    command -v jq >/dev/null && command -v curl >/dev/null ||
    die "missing packages: run scripts/setup.sh"
  if [ -e "$DIR/cluster.env" ]; then
    local f
    for f in "$DIR"/*.pid; do
      pid_alive "$f" && die "a cluster is already up in $DIR (scripts/cluster.sh status|down $DIR)"
    done
    die "$DIR holds a stopped cluster: scripts/cluster.sh down $DIR removes it"
  fi
  if [ -e "$DIR" ] && [ -n "$(ls -A "$DIR" 2>/dev/null)" ]; then
    die "$DIR exists and is not empty"
  fi
  local p
  for p in $(all_ports); do
    port_busy "$p" && die "port $p on 127.0.0.1 is in use (set LEDGER_CLUSTER_PORT_BASE, now $BASE)"
  done
  [ ${#DIR} -lt 200 ] || die "DIR path too long"
}

cmd_up() {
  set_nodes "${LEDGER_CLUSTER_NODES:-3}"
  SPREAD=${LEDGER_CLUSTER_SPREAD:-0}
  [[ "$SPREAD" =~ ^[01]$ ]] || die "LEDGER_CLUSTER_SPREAD must be 0 or 1, not '$SPREAD'"
  set_ports "${LEDGER_CLUSTER_PORT_BASE:-5440}"
  "$REPO/scripts/setup.sh" || die "scripts/setup.sh failed"
  check_can_start
  mkdir -p "$DIR" || die "cannot create $DIR"
  chmod 0755 "$DIR"
  runuser -u postgres -- test -x "$DIR" ||
    die "the postgres user cannot reach $DIR (a parent directory is not searchable)"
  printf 'BASE=%s\nNODES=%s\nSPREAD=%s\n' "$BASE" "${#NODES[@]}" "$SPREAD" >"$DIR/cluster.env"
  conninfo >"$DIR/conninfo"

  start_etcd
  start_patroni
  wait_for 120 cluster_ready ||
    fail_up "no leader with a synchronous standby after 120 s (see $DIR/patroni*.log)"

  local ledgerd_line
  if [ "${LEDGER_CLUSTER_LEDGERD:-1}" = 0 ]; then
    ledgerd_line="ledgerd nodes not started (LEDGER_CLUSTER_LEDGERD=0)"
  elif find_ledgerd; then
    start_ledgerd "$LEDGERD_BIN"
    ledgerd_line=started
  elif [ -n "$BUILT" ]; then
    ledgerd_line="ledgerd nodes not started: this build's ledgerd ($BUILT) has no --postgres yet"
  else
    ledgerd_line="ledgerd nodes not started: no built ledgerd (scripts/build.sh release)"
  fi
  print_summary "$ledgerd_line"
}

print_summary() {
  local i
  echo "cluster up in $DIR"
  echo "etcd:           http://127.0.0.1:$ETCD_CLIENT"
  for i in "${NODES[@]}"; do
    echo "pg$i:            postgresql 127.0.0.1:${PG_PORT[i]}   patroni REST http://127.0.0.1:${REST_PORT[i]}"
  done
  cluster_json | jq -r '.members[] | "  \(.name) \(.role)"'
  echo "conninfo:       $(conninfo)"
  if [ "$1" = started ]; then
    for i in "${NODES[@]}"; do
      local role="follower: serves checks and reads, takes over if the writer dies"
      [ "$i" = 1 ] && role="writer"
      [ "$SPREAD" = 1 ] && role="writes its share of the partitions, forwards the rest"
      echo "ledgerd n$i:     capnp 127.0.0.1:${CAPNP_PORT[i]}   http http://127.0.0.1:${HTTP_PORT[i]}   ($role)"
    done
    echo "token:          ${TOKEN:-(see $DIR/ledgerd1.log)}"
    echo "signing key:    $DIR/signing.key (every node's; the public key to pin:" \
      "ledger-replay --postgres CONNINFO pubkey --signing-key $DIR/signing.key)"
  else
    echo "$1"
  fi
}

cmd_status() {
  load_ports || die "no cluster in $DIR"
  if [ -f "$DIR/patroni1.yml" ]; then
    patronictl -c "$DIR/patroni1.yml" list 2>&1 || echo "patroni: no answer"
  fi
  if command -v etcdctl >/dev/null; then
    ETCDCTL_API=3 etcdctl --endpoints "http://127.0.0.1:$ETCD_CLIENT" endpoint health 2>&1
  else
    etcd_healthy && echo "etcd 127.0.0.1:$ETCD_CLIENT healthy" ||
      echo "etcd 127.0.0.1:$ETCD_CLIENT unhealthy"
  fi
  local i
  for i in "${NODES[@]}"; do
    [ -f "$DIR/ledgerd$i.pid" ] || continue
    local health
    health=$(curl -sS --max-time 2 "http://127.0.0.1:${HTTP_PORT[i]}/healthz" 2>/dev/null)
    if [ -n "$health" ]; then
      echo "ledgerd n$i 127.0.0.1:${HTTP_PORT[i]} $(jq -r '"\(.role) of \(.leases // 0)/\(.partitions) partitions at position \(.position), \(.lag_events) events behind the log"' <<<"$health")"
    elif pid_alive "$DIR/ledgerd$i.pid"; then
      echo "ledgerd n$i 127.0.0.1:${HTTP_PORT[i]} not answering (waiting for PostgreSQL?)"
    else
      echo "ledgerd n$i 127.0.0.1:${HTTP_PORT[i]} not running"
    fi
  done
}

# Kills the postmaster whose data directory is $1 (if it runs) and the backends it left.
kill_postmaster() {
  local pid
  pid=$(head -n1 "$1/postmaster.pid" 2>/dev/null) || return 0
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = postgres ] &&
    tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "-D $1 " || return 0
  kill -KILL "$pid" 2>/dev/null
  pkill -KILL -P "$pid" 2>/dev/null
}

# Processes started from DIR that outlived their pid files (their command lines name a
# file of DIR: patroniN.yml, etcd/, pgN/, nN/).
kill_stragglers() {
  local pid
  for pid in $(pgrep -f -- "$DIR/(patroni[0-9]+\.yml|etcd|pg[0-9]+|n[0-9]+)( |/|\$)"); do
    pkill -KILL -P "$pid" 2>/dev/null
    kill -KILL "$pid" 2>/dev/null
  done
}

# Stops the three $1 processes in parallel ($2: grace seconds).
stop_all() {
  local i jobs=()
  for i in "${NODES[@]}"; do
    stop_pidfile "$DIR/$1$i.pid" "$2" &
    jobs+=($!)
  done
  wait "${jobs[@]}"
}

cmd_down() {
  local i
  if [ ! -e "$DIR/cluster.env" ]; then
    if [ -d "$DIR" ] && [ -n "$(ls -A "$DIR" 2>/dev/null)" ]; then
      echo "cluster.sh down: $DIR is not a cluster directory (no cluster.env); left alone" >&2
    else
      rm -rf "$DIR" 2>/dev/null
    fi
    return 0
  fi
  stop_all ledgerd 10
  stop_all patroni 20
  for i in "${NODES[@]}"; do kill_postmaster "$DIR/pg$i"; done
  stop_pidfile "$DIR/etcd.pid" 10
  kill_stragglers
  sleep 0.2
  rm -rf "$DIR" 2>/dev/null || rm -rf "$DIR" 2>/dev/null
  echo "cluster down; removed $DIR"
  return 0
}

main() {
  local cmd=${1:-}
  DIR=${2:-$REPO/var/cluster}
  DIR=$(realpath -m -- "$DIR")
  case "$cmd" in
    up) cmd_up ;;
    status) cmd_status ;;
    start-node) DIR=$(realpath -m -- "${3:-$REPO/var/cluster}"); cmd_start_node "${2:-}" ;;
    down) cmd_down; exit 0 ;;
    *) echo "usage: scripts/cluster.sh up|status|down [DIR] | start-node N [DIR]  (DIR: var/cluster)" >&2; exit 2 ;;
  esac
}

main "$@"
