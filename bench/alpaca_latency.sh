#!/usr/bin/env bash
# Host-side latency of a live exit (issue 10): from a price arriving on the market-data
# socket to the exit order's bytes being read by the venue, against build/fake-alpaca on
# 127.0.0.1. `apex-host run` with data.live trades one symbol with a strategy that buys on
# one bar and closes on the next; the driver pushes a bar, waits until the store shows the
# round's state (position open, then execution completed), then pushes the next. The fake's
# --timeline (tests/fake_alpaca/README.md) stamps, on its own CLOCK_MONOTONIC, when each
# bar frame went to the socket (t0) and when each request had been read (t1).
#   bench/alpaca_latency.sh [N]     N round trips (default 200), N exits measured
#   MODE=monitor bench/alpaca_latency.sh [N]
#     the exit is the host's: an emergency instruction the monitor evaluates on the fresh
#     quote a live bar makes it fetch (one REST round trip inside the figure)
#   DB_DIR=/dev/shm bench/alpaca_latency.sh   the store on tmpfs (its fsyncs cost nothing)
#   FILL=immediate bench/alpaca_latency.sh 5   orders fill as they arrive (docs/performance.md: a race)
#   HOST_WRAP="strace -f -tt -o FILE" bench/alpaca_latency.sh 5   apex-host under a tracer
#   CHECK=1 bench/alpaca_latency.sh 10   (ctest bench.alpaca_latency_check) asserts only that
#     every round trip made exactly one entry and one exit order, in order, and that every
#     execution completed with the mode's exit; never timings
# Prints the machine, then p50, p99 and max of t1 - t0 for the exit order (and for the
# first request the bar caused); per-round figures go to $OUT/latency.tsv. t1 - t0 holds
# two loopback hops (the bar to the host, the order to the fake): bench-loopback measures one.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
N=${1:-200}
MODE=${MODE:-strategy}
CHECK=${CHECK:-0}
OUT=${OUT:-bench/out/latency-$MODE}
source bench/lib.sh
bench_need apex-host fake-alpaca
command -v sqlite3 > /dev/null && command -v curl > /dev/null || { echo "needs sqlite3 and curl" >&2; exit 1; }
bench_fresh_out

KEY=bench-key
SECRET=bench-secret
NOW=$(date -u +%s)
START=$((NOW / 60 * 60 - 11 * 60)) # history: ten minutes, the last two minutes ago (live bars come after)
"$BUILD/fake-alpaca" --port 0 --key "$KEY" --secret "$SECRET" --fill "${FILL:-next_price}" --market open \
  --clock "$(date -u -d "@$START" +%Y-%m-%dT%H:%M:%SZ)" --timeline "$OUT/timeline.txt" \
  > "$OUT/fake.out" 2> "$OUT/fake.err" &
FPID=$!
HPID=""
trap 'kill $FPID $HPID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do [ -s "$OUT/fake.out" ] && break; sleep 0.05; done
PORT=$(head -1 "$OUT/fake.out" | sed 's/.*://')
URL="http://127.0.0.1:$PORT"
control() { curl -s -f -o /dev/null -X POST -d "$2" "$URL/_control/$1"; }
quote() { control quote "{\"symbol\":\"AAPL\",\"bp\":$1,\"ap\":$1,\"bs\":100,\"as\":100}"; }
# Waits until the fake has read the nth order of that side (the timeline), at most 20 s.
wait_order() {
  for _ in $(seq 1 2000); do
    [ "$(grep -c " order AAPL $1 " "$OUT/timeline.txt")" -ge "$2" ] && return 0
    kill -0 $HPID 2> /dev/null || return 1
    sleep 0.01
  done
  return 1
}

hist=""
for i in $(seq 0 9); do
  t=$(date -u -d "@$((START + i * 60))" +%Y-%m-%dT%H:%M:%SZ)
  hist="$hist${hist:+,}{\"t\":\"$t\",\"o\":100,\"h\":100,\"l\":100,\"c\":100,\"v\":1000}"
done
control bars "{\"bars\":{\"AAPL\":[$hist]}}"

# The strategy: with no position buy one share (a bracket far from the price, so its legs
# never fill); with one, close it (strategy_exit: CRITICAL, a market order). In monitor
# mode it only buys, and an emergency instruction (CRITICAL, a market order) closes: the
# quote the check fetches is 2% under the entry.
# Orders fill at the fake on the next price pushed after them (--fill next_price): the
# driver pushes a quote once the order has been read, so a fill never races the order's
# own response (with --fill immediate the stream's fill event can arrive before the
# response; the host then missed the exit's fill until a poll, 5-30 s later).
if [ "$MODE" = monitor ]; then
  close_line=""
  instr="instructions = { \"close if loss > 1%\" },"
  exit_price=98
  want_reason=emergency_instruction
else
  close_line='if ctx.position then return { side = "close", reason = "bench" } end'
  instr=""
  exit_price=100
  want_reason=strategy_exit
fi
# The scripts have their own directory: the host watches it for edits (hot reload), and
# the timeline and the store written beside them would wake it on every line.
mkdir -p "$OUT/p"
cat > "$OUT/p/strategy.lua" <<LUA
return { on_bar = function(ctx, bar)
  $close_line
  if not ctx.position and bar.close >= 100 then
    return { side = "buy", qty = 1, stop_loss = 50, take_profit = 200 }
  end
end }
LUA
cat > "$OUT/p/pipeline.lua" <<LUA
return apex.pipeline {
    name = "latency",
    symbols = { "AAPL" },
    data = { live = true, timeframe = "1m", warmup_bars = 10 },
    broker = { kind = "alpaca", base_url = "$URL", data_url = "$URL" },
    strategy = { file = "$OUT/p/strategy.lua" },
    monitoring = { max_api_calls_per_minute = 100000, price_cache_ttl_seconds = 0 },
    $instr
}
LUA
export APCA_API_KEY_ID=$KEY APCA_API_SECRET_KEY=$SECRET
DB="$OUT/run.db"
[ -z "${DB_DIR:-}" ] || DB="$DB_DIR/apex-latency-$$.db" # DB_DIR=/dev/shm: fsyncs cost nothing
rm -f "$DB" "$DB-wal" "$DB-shm"
trap 'kill $FPID $HPID 2>/dev/null || true; [ -z "${DB_DIR:-}" ] || rm -f "$DB" "$DB-wal" "$DB-shm" "$DB.lock"' EXIT
${HOST_WRAP:-} "$BUILD/apex-host" run --db "$DB" --fresh --quiet --max-seconds $((60 + N * 5)) "$OUT/p/pipeline.lua" \
  > "$OUT/run.out" 2>&1 &
HPID=$!

# Waits until the SQL answers the value, at most 20 s.
wait_for() {
  for _ in $(seq 1 1000); do
    [ "$(sqlite3 -batch -noheader "$DB" "$1" 2> /dev/null)" = "$2" ] && return 0
    kill -0 $HPID 2> /dev/null || return 1
    sleep 0.02
  done
  return 1
}
die() { echo "alpaca_latency: $*" >&2; tail -20 "$OUT/run.out" >&2; exit 1; }
wait_for "SELECT count(*) > 0 FROM events WHERE kind='market_data'" 1 || die "market data never connected"
sleep 0.5

# Live bars: the first at the minute under way, then each the minute after the last (the
# fake's default), so every bar is new and none is history.
t=$(date -u -d "@$((NOW / 60 * 60))" +%Y-%m-%dT%H:%M:%SZ)
control bar "{\"symbol\":\"AAPL\",\"t\":\"$t\",\"c\":100,\"o\":100,\"h\":100,\"l\":100,\"v\":1000}" \
  || die "control bar"
for i in $(seq 1 "$N"); do
  [ "$i" = 1 ] || control bar '{"symbol":"AAPL","c":100,"o":100,"h":100,"l":100,"v":1000}' || die "control bar"
  wait_order buy "$i" || die "round $i: no entry order"
  quote 100 || die "control quote"
  wait_for "SELECT count(*) FROM executions WHERE status='monitoring' AND id IN (SELECT execution_id FROM fills)" 1 \
    || die "round $i: the entry did not fill"
  sleep 0.05 # the entry's own traffic (legs, reconciliation) settles before the measured bar
  [ "$MODE" = monitor ] && { quote $exit_price || die "control quote"; }
  control bar "{\"symbol\":\"AAPL\",\"c\":$exit_price,\"o\":100,\"h\":100,\"l\":$exit_price,\"v\":1000}" \
    || die "control bar"
  wait_order sell "$i" || die "round $i: no exit order"
  quote $exit_price || die "control quote"
  wait_for "SELECT count(*) FROM executions WHERE status='completed'" "$i" \
    || die "round $i: the exit did not complete: $(sqlite3 "$DB" "SELECT id, status, reason FROM executions")"
done
kill -INT "$(pgrep -P $HPID -x apex-host || echo $HPID)" # under HOST_WRAP, its child
wait $HPID || die "apex-host run did not stop cleanly"
HPID=""
kill $FPID
wait $FPID 2> /dev/null || true

# Pairs each bar with the requests after it, up to the next bar. Odd bars are entries,
# even bars exits. Per exit round: the exit order's t1 - t0, the first request's.
awk -v out="$OUT/latency.tsv" -v check="$OUT/check.txt" '
  $2 == "bar" { nb++; t0 = $1; first[nb] = ""; buys[nb] = 0; sells[nb] = 0; next }
  $2 == "req" && nb && first[nb] == "" { first[nb] = $1 - t0; firstreq[nb] = $3 " " $4 }
  $2 == "req" && nb && $3 == "DELETE" { if (!(nb in cancel1)) cancel1[nb] = $1 - t0; cancel2[nb] = $1 - t0 }
  $2 == "order" && nb {
    if ($4 == "buy") buys[nb]++
    if ($4 == "sell" && $5 == "market") { sells[nb]++; exit_us[nb] = $1 - t0 }
  }
  END {
    print "round\texit_order_us\tfirst_request_us\tfirst_request\tfirst_cancel_us\tlast_cancel_us" > out
    bad = 0
    for (b = 1; b <= nb; b++) {
      entry = b % 2 == 1
      if (entry && (buys[b] != 1 || sells[b] != 0)) { bad++; print "bar " b ": " buys[b] " buys, " sells[b] " exits (want 1 buy)" > check }
      if (!entry && (buys[b] != 0 || sells[b] != 1)) { bad++; print "bar " b ": " buys[b] " buys, " sells[b] " exits (want 1 exit)" > check }
      if (!entry) print b / 2 "\t" exit_us[b] "\t" first[b] "\t" firstreq[b] "\t" cancel1[b] "\t" cancel2[b] > out
    }
    print nb " bars, " bad " bad" > check
  }' "$OUT/timeline.txt"

rounds=$(($(wc -l < "$OUT/latency.tsv") - 1))
completed=$(sqlite3 "$DB" "SELECT count(*) FROM executions WHERE status='completed'")
reasons=$(sqlite3 "$DB" "SELECT group_concat(DISTINCT exit_reason) FROM position_exits")
[ "$reasons" = "$want_reason" ] || die "the exits were $reasons, not $want_reason"
bad=$(tail -1 "$OUT/check.txt" | awk '{print $3}')
if [ "$rounds" != "$N" ] || [ "$completed" != "$N" ] || [ "$bad" != 0 ]; then
  cat "$OUT/check.txt" >&2
  die "want $N exits, one order each: $rounds exit rounds, $completed completed executions"
fi
echo "$N round trips, $N exits ($reasons), each bar exactly one order: ok"
[ "$CHECK" = 1 ] && exit 0

pct() { # column: p50 p99 max (nearest rank) of latency.tsv's column, in µs
  tail -n +2 "$OUT/latency.tsv" | cut -f"$1" | sort -n | awk '{ v[NR] = $1 } END {
    p50 = v[int((NR * 50 + 99) / 100)]; p99 = v[int((NR * 99 + 99) / 100)]
    printf "p50 %d us  p99 %d us  max %d us  (N %d)", p50, p99, v[NR], NR }'
}
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "commit: $(git rev-parse --short HEAD 2> /dev/null || echo unknown), mode $MODE"
echo "bar frame written -> exit order read (t1 - t0): $(pct 2)"
echo "bar frame written -> first request read:        $(pct 3) ($(tail -n +2 "$OUT/latency.tsv" | cut -f4 | sort | uniq -c | sort -rn | head -1 | xargs))"
echo "bar frame written -> first leg cancel read:     $(pct 5)"
echo "bar frame written -> last leg cancel read:      $(pct 6)"
[ -x "$BUILD/bench-loopback" ] && "$BUILD/bench-loopback" 10000 256
exit 0
