#!/usr/bin/env bash
# Exit latency with Telegram answering versus hanging (issue 11: "a slow or dead Telegram
# never delays an exit"). `apex-host run` on the paper broker replays N one-minute bars of
# AAPL at SPEED (default 600) with a strategy that buys on one bar and closes on the next
# (strategy_exit: CRITICAL, a market order), notifying a fake Telegram (build/fake-telegram)
# of every entry, fill and exit. Two runs: the fake answering (`ok`), then the fake in its
# `hang` fault mode (every sendMessage accepted and never answered).
#   bench/notify_latency.sh [N]        N bars (default 400): a round takes 4 bars: about N/4 exits per run
#   MODES="hang ok" bench/notify_latency.sh   the runs in the other order (the load drifts)
#   CHECK=1 bench/notify_latency.sh 30 (ctest bench.notify_latency_check) asserts only
#     outcomes, never timings: in both runs every round completed with its exit order, and
#     in the hang run every exit happened while Telegram hung (no message was answered,
#     every exit's notification still unsent at the end)
# The latency of an exit: from the bar that triggers it (the replay clock reaches the bar's
# time, which is when the bar is delivered) to the exit order's submitted_at (the paper
# broker accepted it), both on the run's clock, divided by SPEED: wall microseconds of the
# host's work (strategy, cancelling the bracket's legs, the order). Prints the machine,
# then p50, p99 and max per mode; per-exit figures go to $OUT/<mode>.tsv.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
N=${1:-400}
SPEED=${SPEED:-600}
CHECK=${CHECK:-0}
OUT=${OUT:-bench/out/notify-latency}
command -v sqlite3 > /dev/null && command -v curl > /dev/null || { echo "needs sqlite3 and curl" >&2; exit 1; }
source bench/lib.sh
bench_need apex-host fake-telegram
bench_fresh_out

TOKEN="4242$(od -An -N3 -tu4 /dev/urandom | tr -d ' \n'):AAH-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
export APEX_BENCH_TG_TOKEN=$TOKEN
"$BUILD/fake-telegram" --port 0 --token "$TOKEN" > "$OUT/tg.port" 2> "$OUT/tg.err" &
TPID=$!
trap 'kill $TPID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do [ -s "$OUT/tg.port" ] && break; sleep 0.05; done
TPORT=$(sed -n 's/^listening 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$OUT/tg.port")
TG="http://127.0.0.1:$TPORT"

# N one-minute bars, flat at 100: the bracket's legs (50, 200) never fill, so every exit
# is the strategy's.
bench_flat_bars "$N" "$OUT/bars.csv"
bench_flip_strategy "$OUT/p/strategy.lua"
cat > "$OUT/p/pipeline.lua" << LUA
return apex.pipeline {
    name = "nlat",
    symbols = { "AAPL" },
    data = { files = { "$OUT/bars.csv" } },
    strategy = { file = "$OUT/p/strategy.lua" },
    notifications = {
        telegram = { token_env = "APEX_BENCH_TG_TOKEN", chat_id = 111, api_url = "$TG" },
        rate_limit_per_minute = 600,
    },
}
LUA

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$N bars at speed $SPEED"
FAILS=0
fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
sq() { sqlite3 -batch -noheader "$1" "$2"; }

for mode in ${MODES:-ok hang}; do
  curl -s -o /dev/null -X POST -d '{}' "$TG/_control/reset"
  [ "$mode" = ok ] ||
    curl -s -o /dev/null -X POST -d '{"kind":"hang","method":"sendMessage","count":1000000}' "$TG/_control/fault"
  DB="$OUT/$mode.db"
  "$BUILD/apex-host" run --speed "$SPEED" --max-seconds $((30 + N / 5)) --db "$DB" --fresh \
    "$OUT/p/pipeline.lua" > "$OUT/$mode.out" 2>&1 &
  HPID=$!
  # At the end of data the host waits up to 15 s (wall) for the notifications due; with
  # Telegram hanging that wait is the whole of it, so once the data is over (and a second
  # for the last minute of data time to settle) a SIGTERM stops it.
  for _ in $(seq 1 $((300 + N))); do
    grep -q "end of data" "$OUT/$mode.out" && break
    kill -0 $HPID 2> /dev/null || break
    sleep 0.1
  done
  sleep 1
  kill -TERM $HPID 2> /dev/null || true
  wait $HPID 2> /dev/null || true
  # Per exit: (submitted_at - the triggering bar's time) / SPEED, in wall microseconds; the
  # first exit order of each execution (a walk's later ones answer a timeout, not a bar).
  sq "$DB" "SELECT o.execution_id, (o.submitted_at - (o.created_at / 60000000) * 60000000) / $SPEED
            FROM orders o WHERE o.id IN (SELECT min(id) FROM orders WHERE role = 'exit' GROUP BY execution_id)
            AND o.submitted_at IS NOT NULL ORDER BY o.id" |
    tr '|' '\t' > "$OUT/$mode.tsv"
  exits=$(grep -c . "$OUT/$mode.tsv" || true)
  completed=$(sq "$DB" "SELECT count(*) FROM executions WHERE status='completed'")
  strategy_exits=$(sq "$DB" "SELECT count(*) FROM executions WHERE status='completed' AND id IN (SELECT execution_id FROM orders WHERE role='exit')")
  queued=$(sq "$DB" "SELECT count(*) FROM notifications WHERE kind='exit'")
  unsent=$(sq "$DB" "SELECT count(*) FROM notifications WHERE kind='exit' AND status <> 'sent'")
  answered=$(curl -s "$TG/_control/requests" | tr '\n' ' ' | sed 's/{"method":/\n&/g' | grep '"method":"sendMessage"' | grep -vc '"fault"' || true)
  echo "$mode: $completed executions completed, $exits first exit orders, $queued exit notifications ($unsent unsent), $answered messages answered"
  [ "$completed" -ge $((N / 5)) ] || fail "$mode: only $completed of about $((N / 4)) rounds completed (a round takes 4 bars)"
  [ "$strategy_exits" = "$completed" ] || fail "$mode: $strategy_exits of $completed completed with an exit order"
  [ "$queued" = "$completed" ] || fail "$mode: $queued exit notifications for $completed completed executions"
  if [ "$mode" = hang ]; then
    [ "$unsent" = "$queued" ] || fail "hang: $((queued - unsent)) exit notifications were sent while Telegram hung"
    [ "$answered" = 0 ] || fail "hang: $answered messages answered while Telegram hung"
  else
    [ "$unsent" = 0 ] || fail "ok: $unsent exit notifications unsent with Telegram answering"
  fi
  if [ "$CHECK" != 1 ] && [ "$exits" -gt 0 ]; then
    cut -f2 "$OUT/$mode.tsv" | sort -n | awk -v m="$mode" '{ v[NR] = $1 } END {
      p50 = v[int((NR - 1) * 0.50) + 1]; p99 = v[int((NR - 1) * 0.99) + 1];
      printf "%-5s exit latency (bar to exit order accepted), %d exits: p50 %.2f ms  p99 %.2f ms  max %.2f ms\n",
        m, NR, p50 / 1000, p99 / 1000, v[NR] / 1000 }'
  fi
done
if [ "$FAILS" -ne 0 ]; then
  echo "$FAILS check(s) failed"
  exit 1
fi
[ "$CHECK" != 1 ] || echo "all checks passed"
