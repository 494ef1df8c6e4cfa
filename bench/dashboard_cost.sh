#!/usr/bin/env bash
# The dashboard's cost to the trading loop (issue 12): tick-to-order latency of `apex-host
# run` with no server, with the server and no client, and with the server and 10
# dashboard clients connected (bench/dashboard_clients.mjs: each does what the page does on
# the wire, the push stream and its coalesced re-reads, without a browser's renderer).
# The run replays N one-minute bars of AAPL at SPEED (default 600) on the paper broker
# with a strategy that buys on one bar and closes on the next (the notify bench's), so
# every bar sends one order.
#   bench/dashboard_cost.sh [N]            N bars (default 400) per mode
#   MODES="10 http none" bench/dashboard_cost.sh   the modes in another order (load drifts)
#   CLIENTS=20 ...                          another number of clients in the clients mode
# The latency of an order: from the bar that caused it (the replay clock reaches the bar's
# time, which is when the bar is delivered) to the order's submitted_at (the paper broker
# accepted it), both on the run's clock, divided by SPEED: wall microseconds of the host's
# work. Prints the machine, then per mode p50, p99 and max, and the host's CPU time for the
# whole run (/usr/bin/time), which the other processes on the machine do not change;
# per-order figures go to $OUT/<mode>.tsv.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
N=${1:-400}
SPEED=${SPEED:-600}
CLIENTS=${CLIENTS:-10}
OUT=${OUT:-bench/out/dashboard-cost}
[ -x "$BUILD/apex-host" ] || { echo "build first: make build ($BUILD/apex-host)" >&2; exit 1; }
command -v sqlite3 > /dev/null && command -v node > /dev/null && command -v curl > /dev/null &&
  [ -x /usr/bin/time ] || { echo "needs sqlite3, node, curl and /usr/bin/time" >&2; exit 1; }
source bench/lib.sh
bench_fresh_out

bench_flat_bars "$N" "$OUT/bars.csv"
bench_flip_strategy "$OUT/p/strategy.lua"
cat > "$OUT/p/pipeline.lua" << LUA
return apex.pipeline {
    name = "dcost",
    symbols = { "AAPL" },
    data = { files = { "$OUT/bars.csv" } },
    strategy = { file = "$OUT/p/strategy.lua" },
    -- positions marked and written every second, so the stream has something to push
    monitoring = { normal_frequency = 1, urgent_frequency = 1, persist_interval = 1 },
}
LUA
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
sq() { sqlite3 -batch -noheader "$1" "$2"; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$N bars at speed $SPEED; clients mode: $CLIENTS clients"
for mode in ${MODES:-none http clients}; do
  DB="$OUT/$mode.db"
  args=()
  CPID=""
  if [ "$mode" != none ]; then
    PORT=$(free_port)
    args=(--http "127.0.0.1:$PORT")
  fi
  /usr/bin/time -f "%U %S" -o "$OUT/$mode.cpu" \
    "$BUILD/apex-host" run --speed "$SPEED" --max-seconds $((30 + N / 5)) --db "$DB" --fresh \
    "${args[@]}" "$OUT/p/pipeline.lua" > "$OUT/$mode.out" 2>&1 &
  HPID=$!
  if [ "$mode" = clients ]; then
    for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.05; done
    node --experimental-websocket bench/dashboard_clients.mjs "http://127.0.0.1:$PORT" "$CLIENTS" \
      > "$OUT/node-clients.out" 2> "$OUT/node-clients.err" &
    CPID=$!
  fi
  for _ in $(seq 1 $((300 + N))); do
    grep -qs "end of data" "$OUT/$mode.out" && break
    kill -0 $HPID 2> /dev/null || break
    sleep 0.1
  done
  [ -z "$CPID" ] || { kill -TERM $CPID; wait $CPID 2> /dev/null || true; }
  wait $HPID 2> /dev/null || true
  # Per order: (submitted_at - its bar's time) / SPEED in wall microseconds; the first
  # order of each role of each execution (a walk's later ones answer a timeout, not a bar).
  sq "$DB" "SELECT o.role, (o.submitted_at - (o.created_at / 60000000) * 60000000) / $SPEED
            FROM orders o WHERE o.id IN (SELECT min(id) FROM orders WHERE role IN ('entry', 'exit')
            GROUP BY execution_id, role) AND o.submitted_at IS NOT NULL ORDER BY o.id" |
    tr '|' '\t' > "$OUT/$mode.tsv"
  orders=$(grep -c . "$OUT/$mode.tsv" || true)
  # The host's own CPU time (user + system) for the whole run: what serving cost the
  # process, whatever else the machine was doing.
  extra="; host CPU $(awk '{ printf "%.2f s", $1 + $2 }' "$OUT/$mode.cpu")"
  [ "$mode" != clients ] || extra="$extra ($(cat "$OUT/node-clients.out"))"
  if [ "$orders" -gt 0 ]; then
    cut -f2 "$OUT/$mode.tsv" | sort -n | awk -v m="$mode" -v x="$extra" '{ v[NR] = $1 } END {
      p50 = v[int((NR - 1) * 0.50) + 1]; p99 = v[int((NR - 1) * 0.99) + 1];
      printf "%-8s tick-to-order, %d orders: p50 %.3f ms  p99 %.3f ms  max %.3f ms%s\n",
        m, NR, p50 / 1000, p99 / 1000, v[NR] / 1000, x }'
  else
    echo "$mode: no orders (see $OUT/$mode.out)"
  fi
done
