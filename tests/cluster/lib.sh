# Shared by the cluster tests (sourced): the watchdog and Patroni's view of the cluster.
# Needs CLUSTER (scripts/cluster.sh) and REST_PORTS (the Patroni REST ports) set.

# Runs `cluster.sh down CLUSTER_DIR` and removes WORK once this script is gone, however it
# ended (detached: a CTest timeout kills this script's process tree, not this watchdog).
#   start_watchdog CLUSTER_DIR WORK
start_watchdog() {
  local me=$$
  (setsid bash -c '
      while kill -0 "$0" 2>/dev/null; do sleep 1; done
      "$1" down "$2" >/dev/null 2>&1
      rm -rf "$3"' "$me" "$CLUSTER" "$1" "$2" </dev/null >/dev/null 2>&1 &)
}

# Patroni's GET /cluster from the first member that answers.
cluster_json() {
  local p
  for p in "${REST_PORTS[@]}"; do
    curl -fsS --max-time 1 "http://127.0.0.1:$p/cluster" 2>/dev/null && return 0
  done
  return 1
}

# The running leader's name (pg1..pg3), or nothing.
running_leader() {
  cluster_json | jq -r '.members[] | select(.role == "leader" and .state == "running") | .name' \
    2>/dev/null
}

# The first of the bases $1, $1+1000, $1+2000, $1+3000 whose ports (base+1 .. base+41, see
# scripts/cluster.sh) are all free, or LEDGER_CLUSTER_PORT_BASE when set. Needs the
# caller's port_busy and fail.
pick_base() {
  if [ -n "${LEDGER_CLUSTER_PORT_BASE:-}" ]; then
    echo "$LEDGER_CLUSTER_PORT_BASE"
    return
  fi
  local base p busy
  for base in "$1" $(($1 + 1000)) $(($1 + 2000)) $(($1 + 3000)); do
    busy=0
    for p in $(seq $((base + 1)) $((base + 41))); do
      port_busy "$p" && { busy=1; break; }
    done
    [ "$busy" = 0 ] && { echo "$base"; return; }
  done
  fail "no free port range for the cluster (tried bases $1..$(($1 + 3000)))"
}
