#!/usr/bin/env bash
# Soak: a live ledgerd under mixed load for a bounded time — commands (ledgerctl --server,
# batches of new invitations and seat changes), access checks, and audit replays
# (ledger-replay state and verify on the live data directory) — sampling ledgerd's RSS and
# open file descriptors every 10 s. Prints one JSON line per sample, then a summary line;
# both figures must stay flat. The summary gives each at the start, at half time and at the
# end. ledgerd runs with a small table-file cap (--max-open-tables, default here 64, ledgerd's
# own default 512) so that the descriptor bound is reached within the run rather than after
# hours of growth.
#   bench/soak.sh [--minutes N] [--dir DIR] [--max-open-tables N]   (10 minutes, var/soak, 64)
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=10
dir=var/soak
max_open_tables=64
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --max-open-tables) max_open_tables=$2; shift 2 ;;
    *) echo "soak: unknown option $1 (--minutes N, --dir DIR, --max-open-tables N)" >&2; exit 2 ;;
  esac
done

scripts/build.sh release --target ledgerd ledgerctl ledger-replay >&2
bin=build/release
rm -rf "$dir"
mkdir -p "$dir"

"$bin/server/ledgerd" --data "$dir/ledger" --tokens "$dir/tokens.json" --create-dev-token \
  --max-open-tables "$max_open_tables" --listen 127.0.0.1:0 --http 127.0.0.1:0 --ready-file "$dir/ready" >"$dir/token.txt" 2>"$dir/ledgerd.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; kill $(jobs -p) 2>/dev/null || true' EXIT
for _ in $(seq 1 500); do [ -f "$dir/ready" ] && break; sleep 0.02; done
[ -f "$dir/ready" ] || { echo "soak: ledgerd did not start" >&2; exit 1; }
capnp=$(sed -n 2p "$dir/ready")
export LEDGER_TOKEN=$(awk '{print $NF}' "$dir/token.txt")
ctl() { "$bin/server/ledgerctl" --server "$capnp" "$@"; }

# A product and 8 tenants, each with 40 members and a subscription of 50 seats: the
# tenants' state stays the same size, so memory must plateau once caches are warm.
{
  echo '{"type":"define_product","actor":"system","product":"soak.app","editions":["std"]}'
  for t in $(seq 0 7); do
    echo "{\"type\":\"create_tenant\",\"tenant\":\"s$t\",\"actor\":\"system\",\"owner\":\"o$t\",\"owner_email\":\"o$t@soak.test\"}"
    echo "{\"type\":\"purchase_subscription\",\"tenant\":\"s$t\",\"actor\":\"o$t\",\"subscription\":\"L$t\",\"product\":\"soak.app\",\"edition\":\"std\",\"seats\":50,\"period_start\":\"2026-01-01T00:00:00Z\",\"period_end\":\"2030-01-01T00:00:00Z\"}"
    for i in $(seq 1 40); do
      echo "{\"type\":\"invite_member\",\"tenant\":\"s$t\",\"actor\":\"o$t\",\"user\":\"u$i\",\"email\":\"u$i@soak.test\"}"
      echo "{\"type\":\"accept_invitation\",\"tenant\":\"s$t\",\"actor\":\"u$i\"}"
    done
  done
} >"$dir/setup.jsonl"
ctl submit "$dir/setup.jsonl" >/dev/null

end=$(($(date +%s) + minutes * 60))
count() { echo $(( $(cat "$dir/$1" 2>/dev/null || echo 0) + $2 )) >"$dir/$1"; }

# Commands: rounds of 640 — every member of every tenant gets a seat, then loses it.
for t in $(seq 0 7); do
  for i in $(seq 1 40); do
    echo "{\"type\":\"assign_seat\",\"tenant\":\"s$t\",\"actor\":\"o$t\",\"subscription\":\"L$t\",\"user\":\"u$i\"}"
    echo "{\"type\":\"revoke_seat\",\"tenant\":\"s$t\",\"actor\":\"o$t\",\"subscription\":\"L$t\",\"user\":\"u$i\"}"
  done
done >"$dir/round.jsonl"
(
  while [ "$(date +%s)" -lt "$end" ]; do
    ctl submit "$dir/round.jsonl" | grep -c '"accepted"' >"$dir/last_accepted" || true
    count commands 640
  done
) &
# Checks.
(
  while [ "$(date +%s)" -lt "$end" ]; do
    for t in $(seq 0 7); do ctl check --tenant "s$t" --user u7 --product soak.app >/dev/null; done
    count checks 8
  done
) &
# Replays on the live directory (secondary instance): a state, and a full verify.
(
  while [ "$(date +%s)" -lt "$end" ]; do
    "$bin/replay-tools/ledger-replay" --data "$dir/ledger" state --tenant s3 --json >/dev/null
    "$bin/replay-tools/ledger-replay" --data "$dir/ledger" verify --json >"$dir/verify.json" ||
      { echo "soak: verify failed: $(cat "$dir/verify.json")" >&2; exit 1; }
    count replays 2
    sleep 5
  done
) &

half=$(($(date +%s) + minutes * 30))
first_rss=""; first_fds=""; mid_rss=""; mid_fds=""; max_rss=0; max_fds=0; rss=0; fds=0
while [ "$(date +%s)" -lt "$end" ]; do
  sleep 10
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  fds=$(ls "/proc/$pid/fd" | wc -l)
  [ -z "$first_rss" ] && first_rss=$rss && first_fds=$fds
  [ -z "$mid_rss" ] && [ "$(date +%s)" -ge "$half" ] && mid_rss=$rss && mid_fds=$fds
  [ "$rss" -gt "$max_rss" ] && max_rss=$rss
  [ "$fds" -gt "$max_fds" ] && max_fds=$fds
  echo "{\"t\":$(date +%s),\"rss_kb\":$rss,\"fds\":$fds,\"commands\":$(cat "$dir/commands" 2>/dev/null || echo 0),\"checks\":$(cat "$dir/checks" 2>/dev/null || echo 0),\"replays\":$(cat "$dir/replays" 2>/dev/null || echo 0)}"
done
wait $(jobs -p | grep -v "^$pid$") 2>/dev/null || true
echo "{\"bench\":\"soak\",\"minutes\":$minutes,\"max_open_tables\":$max_open_tables,\"rss_kb_first\":$first_rss,\"rss_kb_half\":${mid_rss:-0},\"rss_kb_last\":$rss,\"rss_kb_max\":$max_rss,\"fds_first\":$first_fds,\"fds_half\":${mid_fds:-0},\"fds_last\":$fds,\"fds_max\":$max_fds,\"commands\":$(cat "$dir/commands" 2>/dev/null || echo 0),\"checks\":$(cat "$dir/checks" 2>/dev/null || echo 0),\"replays\":$(cat "$dir/replays" 2>/dev/null || echo 0)}"
