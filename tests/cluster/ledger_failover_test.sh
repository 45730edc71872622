#!/usr/bin/env bash
# ledgerd on the replicated log loses no acknowledged command and applies none twice when
# the PostgreSQL primary or the writing ledgerd node is SIGKILLed under load, and a writer
# stopped past its lease never commits again
# (DESIGN section 7, docs/REPLICATED_LOG.md "Tests to come"). One scripts/cluster.sh
# cluster: etcd, three PostgreSQL 15 under Patroni (synchronous_mode_strict), three
# ledgerd nodes on the multi-host conninfo (n1 writes, n2 and n3 follow the log).
#
#  1. cluster.sh up into a temporary directory, on ports of its own
#     (LEDGER_CLUSTER_PORT_BASE, default the first free of 25440, 26440, 27440, 28440);
#     one product and 32 tenants (t1..t32, one per client);
#  2. scenario "primary": 32 clients (background bash loops of curl, one command per
#     request, -m 10) each post invite_member commands with ids p-c<client>-<n> to the node
#     that serves (a router polls the nodes' /healthz), each id once, and record for every
#     id: acknowledged (accepted, with its position), unavailable, or not answered. After
#     ~10 s, SIGKILL of the PostgreSQL primary's postmaster (the leader from Patroni's
#     GET /cluster, its pid from DIR/pgN/postmaster.pid); the load goes on ~15 s more.
#     Asserts: a command that started after the kill is acknowledged within 30 s of it;
#  3. scenario "writer": the same load (ids w-c<client>-<n>) on the writing ledgerd; after
#     ~10 s, SIGKILL of that node (n1 unless the first scenario moved the log); the clients
#     follow whichever follower starts writing. Asserts: a follower writes within 10 s;
#  4. after each scenario: every id tried is resubmitted with the same command (arrays of
#     at most 500 on the serving node, retrying only `unavailable` answers); asserts every
#     acknowledged id answers `duplicate` with exactly its acknowledged position and every
#     other one `accepted` or `duplicate`; in `ledger-replay --postgres ... export --format
#     jsonl` every id tried has exactly one event, at its acknowledged position if it was
#     acknowledged, and no command id of the log appears twice; `ledger-replay verify` exits 0.
#  5. scenario "stop" (ids s-c<client>-<n>): the writing ledgerd is SIGSTOPped under load
#     past its lease; asserts another node writes within 10 s, the stopped node, woken 2 s
#     later, is fenced and follows the new writer within 20 s, and none of the commands
#     sent to it after the SIGSTOP committed (resubmitted, each is accepted, not duplicate);
#  6. LEDGER_FAILOVER_ROUNDS rounds of the three (default 2), the killed node started again
#     (cluster.sh start-node) and Patroni whole again between rounds; prints the figures:
#     resume time after the primary's kill, takeover time after the writer's kill and
#     stop, counts of acknowledged / unavailable / unanswered commands.
# cluster.sh down runs in an EXIT trap, and a detached watchdog runs it too if this script
# is killed outright (a CTest timeout sends SIGKILL).
# Times are microseconds since the epoch ($EPOCHREALTIME). Binaries: $LEDGERD and
# $LEDGER_REPLAY, else build/dev, else build/release. KEEP_DIR=DIR keeps the load's records
# and the nodes' logs there. Needs root (PostgreSQL runs as the postgres user) and
# scripts/setup.sh's packages; exits 77 (skipped) when not root or when no built ledgerd
# has --postgres.
set -uo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
CLUSTER=$REPO/scripts/cluster.sh
# shellcheck source=tests/cluster/lib.sh
source "$REPO/tests/cluster/lib.sh"
CLIENTS=32
LOAD_BEFORE=10      # seconds of load before the kill
LOAD_AFTER=15       # seconds of load after the kill (at least)
RESUME_LIMIT=30     # primary's kill → first acknowledged command that started after it
TAKEOVER_LIMIT=10   # writer's kill → a follower takes commands
RESUBMIT_LIMIT=60   # seconds for resubmitting every id of a scenario
BATCH=500           # commands per resubmission request (the server takes up to 1000)
# Rounds of both kills: 2 by default, 1 under the sanitizers, 10 in the long mode
# (scripts/test.sh sets LEDGER_FAILOVER_ROUNDS).
ROUNDS=${LEDGER_FAILOVER_ROUNDS:-2}
# LEDGER_FAILOVER_SPREAD=1: the ledgerd nodes run with --spread-partitions, each writing
# its share of the partitions; the killed or stopped node is the one the clients use, and
# every client's tenant must take commands again within TAKEOVER_LIMIT of the kill.
SPREAD=${LEDGER_FAILOVER_SPREAD:-0}
KILLED_NODE=""      # the ledgerd node the last writer scenario killed

MAIN_PID=$$
WORK=""
DIR=""
CLIENT_PIDS=()
ROUTER_PID=""
T0=$SECONDS
SUMMARY=()

log() { echo "[$((SECONDS - T0))s] $*"; }
summary() { SUMMARY+=("$*"); }  # a line of the figures printed at the end
# The reason of a failure, printed again after the clean-up's logs (CI keeps the ends).
FAILURE=""
fail() {
  FAILURE="FAIL: $*"
  echo "$FAILURE" >&2
  exit 1
}
# Sleeps $1 seconds without a fork (a read that times out on a pipe nobody writes): on two
# busy cores a fork of `sleep` costs up to half a second.
nap() { read -rt "$1" -u "$NAP_FD" _; }
secs() { printf '%d.%03d' $(($1 / 1000000)) $((($1 % 1000000) / 1000)); }
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }


# The first of its arguments that is an executable file (empty arguments are skipped).
first_built() {
  local f
  for f in "$@"; do
    [ -n "$f" ] && [ -x "$f" ] && { echo "$f"; return 0; }
  done
  return 1
}

# ---------------------------------------------------------------- clean-up

# Stops the clients: each finishes (and records) the request it is in (curl -m 10), or,
# with $1 = now (the clean-up), is killed at once.
stop_load() {
  local pid
  [ -n "$WORK" ] && touch "$WORK/stop"
  if [ "${1:-}" = now ]; then
    for pid in "${CLIENT_PIDS[@]}"; do pkill -P "$pid" 2>/dev/null; kill "$pid" 2>/dev/null; done
  fi
  for pid in "${CLIENT_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
  CLIENT_PIDS=()
}

stop_router() {
  if [ -n "$ROUTER_PID" ]; then
    kill "$ROUTER_PID" 2>/dev/null
    wait "$ROUTER_PID" 2>/dev/null
    ROUTER_PID=""
  fi
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_load now
  stop_router
  if [ -n "$WORK" ]; then
    if [ "$rc" -ne 0 ] && [ -d "$DIR" ]; then
      echo "---- cluster state at failure" >&2
      "$CLUSTER" status "$DIR" >&2 2>&1
      local f
      for f in "$DIR"/ledgerd*.log "$DIR"/patroni*.log; do
        [ -f "$f" ] || continue
        echo "---- last lines of $f" >&2
        tail -n 20 "$f" >&2
      done
    fi
    if [ -n "${KEEP_DIR:-}" ]; then  # the load's records and the logs, for a closer look
      mkdir -p "$KEEP_DIR" && cp -a "$WORK"/s[0-9] "$WORK"/*.txt "$DIR"/*.log "$KEEP_DIR"/ 2>/dev/null
      echo "---- load records and logs kept in $KEEP_DIR" >&2
    fi
    "$CLUSTER" down "$DIR" >/dev/null 2>&1
    rm -rf "$WORK"
  fi
  log "cluster down, $WORK removed"
  [ -z "$FAILURE" ] || echo "$FAILURE" >&2
  exit "$rc"
}

# ---------------------------------------------------------------- the cluster

members_line() {
  cluster_json | jq -r '[.members[] | "\(.name) \(.role) \(.state)"] | join(", ")' 2>/dev/null
}

# False once this script is gone (killed outright, its clients and router must not loop on).
running() { kill -0 "$MAIN_PID" 2>/dev/null && [ -d "$WORK" ]; }

healthy() { curl -fsS --max-time 1 -o /dev/null "http://127.0.0.1:$1/healthz" 2>/dev/null; }

# The node number (1..3) whose HTTP port answers /healthz with 200, or nothing.
serving_node() {
  local i
  for i in 1 2 3; do
    healthy "${HTTP_PORTS[i]}" && { echo "$i"; return 0; }
  done
  return 1
}

# Keeps $WORK/target ("http://127.0.0.1:PORT") on a node that serves: the current one while
# its /healthz answers 200, else the first that does (a node between a refused group and
# its recovery answers 503, and so does a follower). The clients read it per request.
router() {
  local cur="" i
  while running && [ ! -e "$WORK/stop-router" ]; do
    if [ -z "$cur" ] || ! healthy "$cur"; then
      for i in 1 2 3; do
        if [ "${HTTP_PORTS[i]}" != "$cur" ] && healthy "${HTTP_PORTS[i]}"; then
          cur=${HTTP_PORTS[i]}
          echo "http://127.0.0.1:$cur" >"$WORK/target.tmp"
          mv -f "$WORK/target.tmp" "$WORK/target"
          echo "${EPOCHREALTIME/./} $cur" >>"$WORK/routes.txt"
          break
        fi
      done
    fi
    nap 0.2
  done
}

post() {  # $1: URL, $2: file with the body; stdout: the answer
  curl -sS -m "${3:-10}" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    --data-binary "@$2" "$1/v1/commands"
}

# ---------------------------------------------------------------- the load

# The command of id PREFIX-cK-N: an invitation of user u-ID into tenant tK by its owner.
command_json() {
  local id=$1 k=${1#*-c}
  k=${k%%-*}
  printf '{"type":"invite_member","tenant":"t%s","actor":"olga","id":"%s","user":"u-%s","email":"u-%s@example.test"}' \
    "$k" "$id" "$id" "$id"
}

# Client $1 of scenario directory $2, ids $3-c$1-1, -2, ... each sent once, one per request.
# One line per id in $2/c$1: "id start_us end_us outcome position port curl_rc", outcome:
# ack (accepted, with a position), unavailable (rejected, code unavailable), noanswer
# (curl failed: refused, reset, timeout), other (anything else; the answer goes to $2/other).
client() {
  local k=$1 sdir=$2 prefix=$3 n=0 id url out rc start end outcome pos port
  local body="$sdir/body$k"
  while running && [ ! -e "$WORK/stop" ]; do
    n=$((n + 1))
    id="$prefix-c$k-$n"
    command_json "$id" >"$body"
    url=""
    read -r url <"$WORK/target"
    port=${url##*:}
    start=${EPOCHREALTIME/./}
    out=$(curl -sS -m 10 -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
      --data-binary "@$body" "$url/v1/commands" 2>/dev/null)
    rc=$?
    end=${EPOCHREALTIME/./}
    pos=-
    if [ "$rc" -ne 0 ]; then
      outcome=noanswer
    elif [[ $out =~ ^\{\"status\":\"accepted\",\"id\":\"$id\",\"version\":[0-9]+,\"position\":([0-9]+) ]]; then
      outcome=ack
      pos=${BASH_REMATCH[1]}
    elif [[ $out == '{"status":"rejected"'* && $out == *'"code":"unavailable"'* ]]; then
      outcome=unavailable
      echo "$id $out" >>"$sdir/unavailable"
    else
      outcome=other
      echo "$id $out" >>"$sdir/other"
    fi
    echo "$id $start $end $outcome $pos $port $rc"
    [ "$outcome" = ack ] || nap 0.2
  done >"$sdir/c$k"
}

start_load() {  # $1: scenario directory, $2: id prefix
  local k
  rm -f "$WORK/stop"
  mkdir -p "$1"
  for ((k = 1; k <= CLIENTS; k++)); do
    client "$k" "$1" "$2" &
    CLIENT_PIDS+=($!)
  done
}

all_records() { cat "$1"/c[0-9]* 2>/dev/null; }

# The first acknowledgement of a command that started at or after $2 (µs): "id start end ...".
first_ack_after() {
  all_records "$1" | awk -v t="$2" '$4 == "ack" && $2 >= t' | sort -k3,3n | head -n1
}

# How many commands of scenario directory $1 were acknowledged before $2 (µs).
acked_before() { all_records "$1" | awk -v t="$2" '$4 == "ack" && $3 < t' | wc -l; }

# Counts of a scenario's records: "tried T, acknowledged A, unavailable U, unanswered N
# (curl exit codes), other O".
load_figures() {
  all_records "$1" | awk '
    { n++; c[$4]++; if ($4 == "noanswer") rc[$7]++ }
    END {
      s = ""
      for (r in rc) s = s (s == "" ? "" : ", ") "exit " r ": " rc[r]
      printf "tried %d, acknowledged %d, unavailable %d, unanswered %d%s, other %d\n",
        n, c["ack"], c["unavailable"], c["noanswer"], (s == "" ? "" : " (" s ")"), c["other"]
    }'
}

# When every client of scenario directory $1 has had a command acknowledged that started
# at or after $2 (µs): the latest of those first acknowledgements' ends, in µs after $2;
# nothing while some client has none.
all_resumed_after() {
  all_records_by_client "$1" | awk -v t="$2" -v n="$CLIENTS" '
    $5 == "ack" && $3 >= t { if (!($1 in first) || $4 < first[$1]) first[$1] = $4 }
    END {
      for (c in first) { k++; if (first[c] - t > worst) worst = first[c] - t }
      if (k == n) print worst
    }'
}

# Every record of scenario directory $1, each line prefixed by its client's number.
all_records_by_client() {
  local f
  for f in "$1"/c[0-9]*; do
    [ -f "$f" ] && awk -v c="${f##*/c}" '{ print c, $0 }' "$f"
  done
}

# Waits until at least $2 seconds have passed since $1 (µs).
sleep_until() {
  local until_us=$(($1 + $2 * 1000000))
  while ((${EPOCHREALTIME/./} < until_us)); do nap 0.1; done
}

# ---------------------------------------------------------------- the checks

# Resubmits every id tried in scenario directory $1 (same command), in arrays of $BATCH,
# to the node that serves; retries only the ids answered `unavailable` (or not answered).
# Writes "$1/resubmitted": "id status position code" per id.
resubmit_all() {
  local sdir=$1 deadline=$((SECONDS + RESUBMIT_LIMIT)) round=0 f url resp
  all_records "$sdir" | awk '{ print $1 }' >"$sdir/pending"
  : >"$sdir/resubmitted"
  while [ -s "$sdir/pending" ]; do
    ((SECONDS < deadline)) ||
      fail "resubmission: $(wc -l <"$sdir/pending") ids still unavailable after ${RESUBMIT_LIMIT}s"
    round=$((round + 1))
    rm -f "$sdir"/batch.*
    # One JSON array of up to $BATCH commands per file.
    awk -v dir="$sdir" -v batch="$BATCH" '
      {
        id = $1; k = id; sub(/^[^-]*-c/, "", k); sub(/-.*/, "", k)
        f = sprintf("%s/batch.%05d", dir, int((NR - 1) / batch))
        printf "%s{\"type\":\"invite_member\",\"tenant\":\"t%s\",\"actor\":\"olga\",\"id\":\"%s\",\"user\":\"u-%s\",\"email\":\"u-%s@example.test\"}",
          ((NR - 1) % batch == 0 ? "[" : ","), k, id, id, id > f
        if (NR % batch == 0) { print "]" > f; close(f) }
      }
      END { if (NR % batch != 0) print "]" > f }' "$sdir/pending"
    : >"$sdir/pending.next"
    for f in "$sdir"/batch.*; do
      url=""
      read -r url <"$WORK/target"
      if resp=$(post "$url" "$f" 60) &&
        jq -r '.[] | "\(.id) \(.status) \(.position // "-") \(.code // "-")"' <<<"$resp" \
          >"$sdir/answers" 2>/dev/null && [ -s "$sdir/answers" ]; then
        awk '$2 == "rejected" && $4 == "unavailable" { print $1 }' "$sdir/answers" >>"$sdir/pending.next"
        awk '!($2 == "rejected" && $4 == "unavailable")' "$sdir/answers" >>"$sdir/resubmitted"
      else
        jq -r '.[].id' "$f" >>"$sdir/pending.next"
      fi
    done
    mv "$sdir/pending.next" "$sdir/pending"
    [ -s "$sdir/pending" ] && nap 0.5
  done
  RESUBMIT_ROUNDS=$round
}

# Every acknowledged id answered duplicate at its position; every other accepted or duplicate.
check_resubmitted() {
  local sdir=$1 bad
  bad=$(awk '
    NR == FNR { if ($4 == "ack") acked[$1] = $5; tried[$1] = 1; next }
    {
      seen[$1]++
      if ($1 in acked) {
        if ($2 != "duplicate" || $3 != acked[$1])
          print $1 " acknowledged at " acked[$1] ", resubmitted: " $2 " position " $3 " code " $4
      } else if ($2 != "accepted" && $2 != "duplicate") {
        print $1 " not acknowledged, resubmitted: " $2 " code " $4
      }
    }
    END { for (id in tried) if (!(id in seen)) print id " got no answer to its resubmission" }' \
    <(all_records "$sdir") "$sdir/resubmitted" | head -n 20)
  [ -z "$bad" ] || fail "resubmission answers (first 20):
$bad"
  RESUB_DUP_UNACKED=$(awk 'NR == FNR { if ($4 == "ack") acked[$1] = 1; next }
    !($1 in acked) && $2 == "duplicate"' <(all_records "$sdir") "$sdir/resubmitted" | wc -l)
  RESUB_ACCEPTED=$(awk '$2 == "accepted"' "$sdir/resubmitted" | wc -l)
}

# Exports the log; asserts each id tried in $1 has exactly one event, at its acknowledged
# position when acknowledged, and that no command id of the log has events at two
# different commits (a command applied twice).
check_log() {
  local sdir=$1 bad
  "$REPLAY" --postgres "$CONNINFO" export --format jsonl >"$WORK/export.jsonl" 2>"$WORK/export.err" ||
    { cat "$WORK/export.err" >&2; fail "ledger-replay export failed"; }
  jq -r '"\(.tenant) \(.command_id) \(.position) \(.type)"' "$WORK/export.jsonl" >"$WORK/events.txt" ||
    fail "cannot read the export"
  LOG_EVENTS=$(wc -l <"$WORK/events.txt")
  # A command's events are consecutive positions of one commit; an id (per tenant) whose
  # events are not consecutive was applied in two commits.
  bad=$(sort -k1,1 -k2,2 -k3,3n "$WORK/events.txt" | awk '
    { key = $1 " " $2
      if (key == last && $3 != lastpos + 1) print "command " $2 " of tenant " $1 " has events at " lastpos " and " $3 " (applied twice)"
      last = key; lastpos = $3 }' | head -n 20)
  [ -z "$bad" ] || fail "a command applied twice in the log (first 20):
$bad"
  bad=$(awk '
    NR == FNR { if ($4 == "member_invited") { n[$2]++; at[$2] = $3 }; next }
    {
      if (!($1 in n)) print $1 " (" $4 ") is not in the log"
      else if (n[$1] != 1) print $1 " has " n[$1] " member_invited events in the log"
      else if ($4 == "ack" && at[$1] != $5) print $1 " acknowledged at " $5 ", in the log at " at[$1]
    }' "$WORK/events.txt" <(all_records "$sdir") | head -n 20)
  [ -z "$bad" ] || fail "the log against the commands tried (first 20):
$bad"
  "$REPLAY" --postgres "$CONNINFO" verify >"$WORK/verify.out" 2>&1 ||
    { cat "$WORK/verify.out" >&2; fail "ledger-replay verify exited non-zero"; }
  VERIFY_LINE=$(tail -n1 "$WORK/verify.out")
}

check_scenario() {  # $1: scenario directory, $2: its name
  local sdir=$1 t
  [ ! -s "$sdir/other" ] ||
    fail "$2: answers that are neither accepted nor unavailable (first 5):
$(head -n 5 "$sdir/other")"
  t=$SECONDS
  resubmit_all "$sdir"
  check_resubmitted "$sdir"
  log "$2: resubmitted $(wc -l <"$sdir/resubmitted") ids in $((SECONDS - t))s ($RESUBMIT_ROUNDS rounds):" \
    "acknowledged ones duplicate at their positions; of the others $RESUB_DUP_UNACKED had" \
    "committed (duplicate), $RESUB_ACCEPTED accepted now"
  check_log "$sdir"
  log "$2: log: $LOG_EVENTS events, each id tried exactly once; verify: $VERIFY_LINE"
}

# The pid of ledgerd node $1 (from its pid file, checked against the process's command line).
ledgerd_pid() {
  local pid=""
  read -r pid <"$DIR/ledgerd$1.pid" 2>/dev/null
  [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "--node n$1 " &&
    echo "$pid"
}

# ---------------------------------------------------------------- scenario 1

scenario_primary() {  # $1: the round
  local r=$1 sdir=$WORK/s1-$1 t_start t_kill old pid old_port first new t_elected="" deadline comm=""
  # The victim, found before the load: under 32 clients on two cores every fork costs
  # up to half a second, and the kill should come on time. Checked again (builtins only)
  # right before the kill.
  old=$(running_leader)
  [ -n "$old" ] || fail "primary: no running leader before the load"
  old_port=$(cluster_json | jq -r --arg n "$old" '.members[] | select(.name == $n) | .port')
  read -r pid <"$DIR/$old/postmaster.pid" 2>/dev/null
  local t_spawn=${EPOCHREALTIME/./}
  start_load "$sdir" "p$r"
  t_start=${EPOCHREALTIME/./}
  log "primary: $CLIENTS clients started (in $(secs $((t_start - t_spawn)))s), load for" \
    "${LOAD_BEFORE}s; the primary is $old (port $old_port, postmaster ${pid:-?})"
  sleep_until "$t_start" "$LOAD_BEFORE"
  [ -n "$pid" ] && read -r comm <"/proc/$pid/comm" 2>/dev/null && [ "$comm" = postgres ] ||
    fail "primary: no postmaster for leader $old (postmaster.pid: '${pid:-}')"
  t_kill=${EPOCHREALTIME/./}
  kill -KILL "$pid" || fail "primary: cannot SIGKILL postmaster $pid"
  local before
  before=$(acked_before "$sdir" "$t_kill")
  [ "$before" -gt 0 ] || fail "primary: nothing acknowledged before the kill"
  log "primary: SIGKILL of the postmaster of leader $old (pid $pid, port $old_port) after" \
    "$(secs $((t_kill - t_start)))s of load; $before commands acknowledged before it"

  # Writes resume within RESUME_LIMIT; the load runs at least LOAD_AFTER.
  deadline=$((t_kill + RESUME_LIMIT * 1000000))
  first=""
  while [ -z "$first" ] && ((${EPOCHREALTIME/./} < deadline)); do
    if [ -z "$t_elected" ]; then
      new=$(running_leader)
      [ -n "$new" ] && [ "$new" != "$old" ] && t_elected=${EPOCHREALTIME/./}
    fi
    first=$(first_ack_after "$sdir" "$t_kill")
    [ -n "$first" ] || nap 0.2
  done
  [ -n "$first" ] || fail "primary: no command acknowledged within ${RESUME_LIMIT}s of the kill"
  local first_id first_end resume_us
  read -r first_id _ first_end _ <<<"$first"
  resume_us=$((first_end - t_kill))
  log "primary: writes resumed $(secs "$resume_us")s after the kill (first: $first_id)" \
    "${t_elected:+; new Patroni leader $new seen after $(secs $((t_elected - t_kill)))s}"
  sleep_until "$t_kill" "$LOAD_AFTER"
  stop_load
  local figures writer
  figures=$(load_figures "$sdir")
  writer=$(serving_node) || writer="?"
  log "primary: load stopped: $figures; writer now n$writer; Patroni: $(members_line)"
  check_scenario "$sdir" primary
  summary "round $r, primary kill: writes resumed $(secs "$resume_us") s after the SIGKILL" \
    "(Patroni leader $old -> ${new:-?}${t_elected:+ seen after $(secs $((t_elected - t_kill))) s});" \
    "$figures; of the unacknowledged, $RESUB_DUP_UNACKED had committed"
}

# ---------------------------------------------------------------- scenario 2

scenario_writer() {  # $1: the round
  local r=$1 sdir=$WORK/s2-$1 t_start t_kill victim pid new="" t_serving="" first="" deadline i
  # The writer: the node that serves (n1 unless the first scenario moved the log).
  victim=$(serving_node) || fail "writer: no ledgerd serves before the load"
  pid=$(ledgerd_pid "$victim") || fail "writer: no ledgerd process for n$victim"
  local t_spawn=${EPOCHREALTIME/./}
  start_load "$sdir" "w$r"
  t_start=${EPOCHREALTIME/./}
  log "writer: $CLIENTS clients on n$victim (pid $pid) started (in" \
    "$(secs $((t_start - t_spawn)))s), load for ${LOAD_BEFORE}s"
  sleep_until "$t_start" "$LOAD_BEFORE"
  [ -d "/proc/$pid" ] || fail "writer: ledgerd n$victim ($pid) exited during the load"
  t_kill=${EPOCHREALTIME/./}
  kill -KILL "$pid" || fail "writer: cannot SIGKILL ledgerd n$victim ($pid)"
  KILLED_NODE=$victim
  log "writer: SIGKILL of ledgerd n$victim (pid $pid) after $(secs $((t_kill - t_start)))s of load"

  # A follower takes commands: its /healthz answers 200 (a follower answers 503). The time
  # is when the poll saw it (or the ready file's, were the node started after the kill).
  deadline=$((t_kill + (TAKEOVER_LIMIT + 10) * 1000000))  # the poll itself may lag
  while [ -z "$t_serving" ] && ((${EPOCHREALTIME/./} < deadline)); do
    for i in 1 2 3; do
      [ "$i" != "$victim" ] && [ -s "$DIR/ledgerd$i.ready" ] || continue
      if healthy "${HTTP_PORTS[i]}"; then
        new=$i
        t_serving=${EPOCHREALTIME/./}
        break
      fi
    done
    [ -n "$t_serving" ] || nap 0.1
  done
  [ -n "$t_serving" ] || fail "writer: no follower serves within $((TAKEOVER_LIMIT + 10))s of the kill"
  local t_ready takeover_us seen_us before
  t_ready=$(stat -c %.6Y "$DIR/ledgerd$new.ready" 2>/dev/null)
  t_ready=${t_ready/./}
  seen_us=$((t_serving - t_kill))
  takeover_us=$seen_us
  [ -n "$t_ready" ] && ((t_ready > t_kill && t_ready <= t_serving)) && takeover_us=$((t_ready - t_kill))
  before=$(acked_before "$sdir" "$t_kill")
  log "writer: n$new serves $(secs "$takeover_us")s after the kill (seen by the poll after" \
    "$(secs "$seen_us")s; ready file: $(tr '\n' ' ' <"$DIR/ledgerd$new.ready" 2>/dev/null));" \
    "$before commands acknowledged before the kill"
  [ "$before" -gt 0 ] || fail "writer: nothing acknowledged before the kill"
  ((takeover_us <= TAKEOVER_LIMIT * 1000000)) ||
    fail "writer: n$new serves only $(secs "$takeover_us")s after the kill (limit ${TAKEOVER_LIMIT}s)"
  deadline=$((t_kill + 30 * 1000000))
  while [ -z "$first" ] && ((${EPOCHREALTIME/./} < deadline)); do
    first=$(first_ack_after "$sdir" "$t_kill")
    [ -n "$first" ] || nap 0.2
  done
  [ -n "$first" ] || fail "writer: n$new serves but acknowledged nothing within 30s of the kill"
  local first_id first_end first_port resume_us
  read -r first_id _ first_end _ _ first_port _ <<<"$first"
  [ "$first_port" = "${HTTP_PORTS[new]}" ] ||
    fail "writer: the first acknowledgement after the kill ($first_id) came from port $first_port"
  resume_us=$((first_end - t_kill))
  if [ "$SPREAD" = 1 ]; then
    # The other nodes answered at once; the dead node's partitions are taken once its
    # lease ends: then every client's tenant takes commands again.
    local all_us=""
    deadline=$((t_kill + (TAKEOVER_LIMIT + 10) * 1000000))
    while [ -z "$all_us" ] && ((${EPOCHREALTIME/./} < deadline)); do
      all_us=$(all_resumed_after "$sdir" "$t_kill")
      [ -n "$all_us" ] || nap 0.2
    done
    [ -n "$all_us" ] || fail "writer: some tenants took no command within $((TAKEOVER_LIMIT + 10))s of the kill"
    log "writer: every client's tenant took commands again $(secs "$all_us")s after the kill"
    ((all_us <= TAKEOVER_LIMIT * 1000000)) ||
      fail "writer: the last tenant took commands again only $(secs "$all_us")s after the kill (limit ${TAKEOVER_LIMIT}s)"
    takeover_us=$all_us
  fi
  log "writer: first acknowledgement after the kill $(secs "$resume_us")s after it ($first_id on n$new)"
  sleep_until "$t_kill" "$LOAD_AFTER"
  stop_load
  local figures
  figures=$(load_figures "$sdir")
  log "writer: load stopped: $figures"
  # The commands in flight at the kill: sent to the victim, whose connection the kill
  # dropped (not refused: those never reached it).
  local inflight
  inflight=$(all_records "$sdir" | awk -v t="$t_kill" -v p="${HTTP_PORTS[victim]}" \
    '$4 == "noanswer" && $2 < t && $3 > t && $6 == p && $7 != 7' | wc -l)
  check_scenario "$sdir" writer
  summary "round $r, writer kill: n$victim SIGKILLed, n$new serves after $(secs "$takeover_us") s," \
    "first acknowledgement after $(secs "$resume_us") s; $figures; $inflight dropped in" \
    "flight by the kill; of all unacknowledged $RESUB_DUP_UNACKED had committed"
}

# ---------------------------------------------------------------- scenario 3

# How many partitions node $1 writes, as its /healthz says.
leases_of() {
  curl -sS --max-time 1 "http://127.0.0.1:${HTTP_PORTS[$1]}/healthz" 2>/dev/null | jq -r '.leases // 0' 2>/dev/null
}

# Whether node $1's /healthz says role $2 (writer or follower).
has_role() {
  [ "$(curl -sS --max-time 1 "http://127.0.0.1:${HTTP_PORTS[$1]}/healthz" 2>/dev/null |
    jq -r .role 2>/dev/null)" = "$2" ]
}

scenario_stop() {  # $1: the round
  local r=$1 sdir=$WORK/s3-$1 t_start t_stop t_taken="" t_cont t_follows="" victim pid new=""
  local deadline i
  victim=$(serving_node) || fail "stop: no ledgerd serves before the load"
  pid=$(ledgerd_pid "$victim") || fail "stop: no ledgerd process for n$victim"
  start_load "$sdir" "s$r"
  t_start=${EPOCHREALTIME/./}
  log "stop: $CLIENTS clients on n$victim (pid $pid), load for ${LOAD_BEFORE}s"
  sleep_until "$t_start" "$LOAD_BEFORE"
  t_stop=${EPOCHREALTIME/./}
  kill -STOP "$pid" || fail "stop: cannot SIGSTOP ledgerd n$victim ($pid)"
  log "stop: SIGSTOP of ledgerd n$victim (pid $pid) after $(secs $((t_stop - t_start)))s of load"
  # Past its lease another node takes the log; the stopped one is woken 2 s later.
  deadline=$((t_stop + (TAKEOVER_LIMIT + 10) * 1000000))
  while [ -z "$t_taken" ] && ((${EPOCHREALTIME/./} < deadline)); do
    if [ "$SPREAD" = 1 ]; then
      # Every node answers: past the lease is when the others hold all 16 partitions.
      local held=0
      for i in 1 2 3; do
        [ "$i" != "$victim" ] || continue
        held=$((held + $(leases_of "$i" || echo 0)))
        [ -n "$new" ] || new=$i
      done
      [ "$held" = 16 ] && t_taken=${EPOCHREALTIME/./}
    else
      for i in 1 2 3; do
        [ "$i" != "$victim" ] && healthy "${HTTP_PORTS[i]}" && new=$i && t_taken=${EPOCHREALTIME/./} && break
      done
    fi
    [ -n "$t_taken" ] || nap 0.1
  done
  [ -n "$t_taken" ] || { kill -CONT "$pid"; fail "stop: no other node writes within $((TAKEOVER_LIMIT + 10))s of the SIGSTOP"; }
  nap 2
  t_cont=${EPOCHREALTIME/./}
  kill -CONT "$pid" || fail "stop: cannot SIGCONT ledgerd n$victim ($pid)"
  log "stop: n$new writes $(secs $((t_taken - t_stop)))s after the SIGSTOP; SIGCONT of n$victim" \
    "after $(secs $((t_cont - t_stop)))s"
  # The woken node finds itself fenced and follows n$new (spread: it follows the
  # partitions taken from it, then takes its share back).
  deadline=$((t_cont + 20 * 1000000))
  while [ -z "$t_follows" ] && ((${EPOCHREALTIME/./} < deadline)); do
    if [ "$SPREAD" = 1 ]; then
      [ "$(leases_of "$victim")" -gt 0 ] 2>/dev/null && t_follows=${EPOCHREALTIME/./} && break
    else
      has_role "$victim" follower && t_follows=${EPOCHREALTIME/./} && break
    fi
    nap 0.2
  done
  [ -n "$t_follows" ] || fail "stop: n$victim does not follow the log within 20 s of its SIGCONT"
  log "stop: n$victim follows n$new $(secs $((t_follows - t_cont)))s after its SIGCONT"
  sleep_until "$t_cont" "$LOAD_AFTER"
  stop_load
  local figures
  figures=$(load_figures "$sdir")
  log "stop: load stopped: $figures"
  check_scenario "$sdir" stop
  # Sent to the stopped node while it was stopped (in flight at the SIGSTOP, or sent
  # before its SIGCONT). With 32 clients there are always some: the test would prove
  # nothing otherwise. Those answered after the wake-up may be acknowledged (the woken
  # node forwards what it reads once it knows it follows); those its answer says were
  # not committed (its fenced group was refused, or it refused them as a follower, or
  # the connection was refused) must not be in the log: a duplicate would mean the stale
  # node wrote. The others' outcome is unknown to the client (the answer came too late
  # or said so): either way is right.
  local reached sent refused committed
  reached=$(all_records "$sdir" | awk -v t="$t_stop" -v c="$t_cont" -v p="${HTTP_PORTS[victim]}" \
    '$3 > t && $2 < c && $6 == p' | wc -l)
  [ "$reached" -gt 0 ] || fail "stop: no command reached the stopped node (nothing to fence)"
  all_records "$sdir" | awk -v t="$t_stop" -v c="$t_cont" -v p="${HTTP_PORTS[victim]}" \
    '$3 > t && $2 < c && $6 == p && $4 != "ack"' >"$sdir/sent_to_stopped"
  sent=$(wc -l <"$sdir/sent_to_stopped")
  awk 'NR == FNR { answer[$1] = $0; next }
    ($4 == "noanswer" && $7 == 7) ||
    ($4 == "unavailable" && (answer[$1] ~ /refused/ || answer[$1] ~ /follows the log/)) { print $1 }' \
    <(cat "$sdir/unavailable" 2>/dev/null) "$sdir/sent_to_stopped" >"$sdir/refused_by_stopped"
  refused=$(wc -l <"$sdir/refused_by_stopped")
  committed=$(awk 'NR == FNR { refused[$1] = 1; next } ($1 in refused) && $2 != "accepted" { print $1 " " $2 }' \
    "$sdir/refused_by_stopped" "$sdir/resubmitted" | head -n 5)
  [ -z "$committed" ] || fail "stop: commands the stopped node answered as not committed were in the log:
$committed
their answers:
$(grep -F -f <(cut -d' ' -f1 <<<"$committed" | sed 's/$/ /') "$sdir/unavailable" 2>/dev/null | head -n 5)"
  log "stop: $reached commands reached n$victim while it was stopped; of the $sent not" \
    "acknowledged, the" \
    "$refused answered as refused (fenced group, follower, connection refused) did not commit;" \
    "$(awk 'FILENAME == ARGV[1] { refused[$1] = 1; next }
      FILENAME == ARGV[2] { if (!($1 in refused)) other[$1] = 1; next }
      ($1 in other) && $2 != "accepted"' "$sdir/refused_by_stopped" "$sdir/sent_to_stopped" \
      "$sdir/resubmitted" | wc -l) of the others had committed"
  summary "round $r, SIGSTOP of the writer: n$new writes after $(secs $((t_taken - t_stop))) s;" \
    "n$victim, woken, follows after $(secs $((t_follows - t_cont))) s; $reached commands" \
    "reached it while stopped, $sent not acknowledged, none of the $refused refused" \
    "committed; $figures"
}

# ---------------------------------------------------------------- between rounds

# Patroni: a leader, a synchronous standby, three members running.
patroni_whole() {
  cluster_json | jq -e '[.members[] | select(.state == "running")] as $up
    | ($up | map(select(.role == "leader")) | length) == 1
      and ($up | map(select(.role == "sync_standby")) | length) >= 1
      and ($up | length) == 3' >/dev/null 2>&1
}

# Before the next round: the killed ledgerd runs again (a follower) and Patroni has its
# three members back.
whole_again() {
  local t=$SECONDS
  if [ -n "$KILLED_NODE" ]; then
    "$CLUSTER" start-node "$KILLED_NODE" "$DIR" >"$WORK/start-node.out" 2>&1 ||
      { cat "$WORK/start-node.out" >&2; fail "cluster.sh start-node $KILLED_NODE failed"; }
    KILLED_NODE=""
  fi
  while ! patroni_whole; do
    ((SECONDS - t < 120)) || fail "Patroni not whole again within 120 s: $(members_line)"
    nap 0.5
  done
  log "whole again in $((SECONDS - t))s: ledgerd $(serving_node | sed 's/^/n/') writes; $(members_line)"
}

# ---------------------------------------------------------------- main

main() {
  [ "$(id -u)" -eq 0 ] || { echo "skipped: needs root (PostgreSQL runs as postgres)"; exit 77; }
  LEDGERD=$(first_built "${LEDGERD:-}" "$REPO/build/dev/server/ledgerd" \
    "$REPO/build/release/server/ledgerd") || { echo "skipped: no built ledgerd"; exit 77; }
  [[ "$("$LEDGERD" --help 2>&1)" == *--postgres* ]] ||
    { echo "skipped: $LEDGERD has no --postgres"; exit 77; }
  REPLAY=$(first_built "${LEDGER_REPLAY:-}" "$REPO/build/dev/replay-tools/ledger-replay" \
    "$REPO/build/release/replay-tools/ledger-replay") || fail "no built ledger-replay"
  export LEDGERD
  exec {NAP_FD}<> <(:)
  local base
  base=$(pick_base 25440) || exit 1
  WORK=$(mktemp -d /tmp/ledger-failover.XXXXXX)
  chmod 0755 "$WORK"  # the postgres user must reach the cluster inside
  DIR=$WORK/cluster
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  start_watchdog "$DIR" "$WORK"
  REST_PORTS=($((base + 11)) $((base + 12)) $((base + 13)))
  HTTP_PORTS=([1]=$((base + 31)) [2]=$((base + 32)) [3]=$((base + 33)))

  log "cluster.sh up (ports from $base, $LEDGERD, spread partitions: $SPREAD) in $DIR"
  LEDGER_CLUSTER_SPREAD=$SPREAD LEDGER_CLUSTER_PORT_BASE=$base "$CLUSTER" up "$DIR" \
    >"$WORK/up.out" 2>&1 ||
    { cat "$WORK/up.out" >&2; fail "cluster.sh up failed"; }
  grep -q '^ledgerd n1: ' "$WORK/up.out" ||
    { cat "$WORK/up.out" >&2; fail "cluster.sh up started no ledgerd nodes"; }
  CONNINFO=$(cat "$DIR/conninfo")
  TOKEN=$(sed -n 's/^token: *//p' "$WORK/up.out")
  [ -n "$TOKEN" ] || TOKEN=$(sed -n 's/^development token.*: //p' "$DIR/ledgerd1.log" | head -n1)
  [ -n "$TOKEN" ] || fail "no development token"
  log "up: $(members_line)"

  echo "http://127.0.0.1:${HTTP_PORTS[1]}" >"$WORK/target"
  # The product and one tenant per client.
  {
    printf '[{"type":"define_product","actor":"system","id":"setup-product","product":"pcon.planner","editions":["standard","pro"]}'
    for ((k = 1; k <= CLIENTS; k++)); do
      printf ',{"type":"create_tenant","tenant":"t%d","actor":"system","id":"setup-t%d","owner":"olga","owner_email":"olga@example.test"}' "$k" "$k"
    done
    echo ']'
  } >"$WORK/setup.json"
  local answer
  answer=$(post "http://127.0.0.1:${HTTP_PORTS[1]}" "$WORK/setup.json" 30) ||
    fail "setup commands: no answer from n1"
  [ "$(jq '[.[] | select(.status == "accepted")] | length' <<<"$answer" 2>/dev/null)" = $((CLIENTS + 1)) ] ||
    fail "setup commands not all accepted: $(head -c 500 <<<"$answer")"

  router &
  ROUTER_PID=$!

  local r
  for ((r = 1; r <= ROUNDS; r++)); do
    ((r == 1)) || whole_again
    log "---- round $r of $ROUNDS"
    scenario_primary "$r"
    scenario_writer "$r"
    scenario_stop "$r"
  done

  stop_router
  log "Patroni at the end: $(members_line)"
  local s
  for s in "${SUMMARY[@]}"; do echo "$s"; done
  log "PASS"
}

main "$@"
