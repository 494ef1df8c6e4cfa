# Live bars from Alpaca's market data end to end (issue 10): `apex-host run` with
# data.live against the fake Alpaca server on 127.0.0.1. History bars warm the strategy up
# and are never traded on; a bar pushed to the market-data stream makes a signal, the
# bracket entry fills at the fake and its fill arrives from the trade_updates stream, the
# position is monitored, and a later bar makes the strategy close it: the execution
# completes with the strategy's reason and the P&L of the two fills, every order reached
# the fake once, and ctrl-C then stops the run cleanly with its summary.
source "$(dirname "$0")/lib.sh"
: "${APEX_BUILD_DIR:?set by ctest}"
KEY="PK$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F)"
SECRET="sk-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
# The adapter asks for history up to its own wall clock: the fake's clock starts there.
NOW=$(date -u +%s)
START=$(( NOW / 60 * 60 - 60 * 60 )) # an hour ago, on a minute
"$APEX_BUILD_DIR/fake-alpaca" --port 0 --key "$KEY" --secret "$SECRET" --fill immediate \
  --market open --clock "$(date -u -d "@$START" +%Y-%m-%dT%H:%M:%SZ)" \
  > "$WORK/fake.out" 2> "$WORK/fake.err" &
FPID=$!
HPID=""
trap 'kill $FPID $HPID 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do [ -s "$WORK/fake.out" ] && break; sleep 0.05; done
PORT=$(head -1 "$WORK/fake.out" | sed 's/.*://')
URL="http://127.0.0.1:$PORT"
control() { curl -s -f -o /dev/null -X POST -d "$2" "$URL/_control/$1" || fail "control $1 $2"; }

# 58 minutes of history, 100.00 to 101.14, with one bar at 107 that would be a signal if
# history were traded on.
hist=""
for i in $(seq 0 57); do
  c="100.$(printf %02d $((i * 2 % 100)))"
  [ "$i" = 30 ] && c=107
  t=$(date -u -d "@$((START + i * 60))" +%Y-%m-%dT%H:%M:%SZ)
  hist="$hist${hist:+,}{\"t\":\"$t\",\"o\":$c,\"h\":$c,\"l\":$c,\"c\":$c,\"v\":1000}"
done
control bars "{\"bars\":{\"AAPL\":[$hist],\"MSFT\":[$hist]}}"

cat > "$WORK/probe.lua" <<'LUA'
-- Counts the bars it sees; buys at 105-110 and closes above 115.
return { on_bar = function(ctx, bar)
  ctx.state.bars = (ctx.state.bars or 0) + 1
  if ctx.position and bar.close > 115 then
    return { side = "close", reason = "probe target" }
  end
  if not ctx.position and bar.close > 105 and bar.close < 110 then
    return { side = "buy", qty = 10, stop_loss = 90, take_profit = 130 }
  end
end }
LUA
cat > "$WORK/live.lua" <<LUA
return apex.pipeline {
    name = "live",
    symbols = { "AAPL" },
    data = { live = true, timeframe = "1m", warmup_bars = 100 },
    broker = { kind = "alpaca", base_url = "$URL", data_url = "$URL" },
    strategy = { file = "$WORK/probe.lua" },
}
LUA
# A second pipeline on the same account trades MSFT: one market-data stream serves both.
sed -e 's#name = "live"#name = "live2"#' -e 's#"AAPL"#"MSFT"#' "$WORK/live.lua" > "$WORK/live2.lua"
export APCA_API_KEY_ID=$KEY APCA_API_SECRET_KEY=$SECRET

# ---- check --connect asks whether each symbol can be traded ----
out=$("$APEX_HOST" check --connect "$WORK/live.lua" 2>&1) && rc=0 || rc=$?
assert_eq "$rc" "0" "check --connect passes"
assert_contains "$out" "connect: AAPL tradable (us_equity, shortable, fractionable)" "and says AAPL is tradable"
assert_contains "$out" "connect: the market is open; it closes at" "and reads the market clock"
control settings '{"market":"closed"}'
out=$("$APEX_HOST" check --connect "$WORK/live.lua" 2>&1) && rc=0 || rc=$?
assert_contains "$out" "connect: the market is closed; it opens at" "a closed market says when it opens"
control settings '{"market":"open"}'
control asset '{"symbol":"AAPL","kind":"untradable"}'
out=$("$APEX_HOST" check --connect "$WORK/live.lua" 2>&1) && rc=0 || rc=$?
assert_eq "$rc" "3" "check --connect fails on a symbol the account cannot trade"
assert_contains "$out" "symbols[1]: AAPL is not tradable at alpaca; it cannot be traded" "naming the symbol and what to do"
control asset '{"symbol":"AAPL","kind":"unknown"}'
out=$("$APEX_HOST" check --connect "$WORK/live.lua" 2>&1) && rc=0 || rc=$?
assert_contains "$out" "symbols[1]: AAPL: alpaca: AAPL is not an asset Alpaca lists" "and a symbol Alpaca does not know"
control asset '{"symbol":"AAPL","kind":"tradable"}'

DB="$WORK/live.db"
"$APEX_HOST" run --db "$DB" --fresh --max-seconds 90 "$WORK/live.lua" "$WORK/live2.lua" > "$WORK/run.out" 2>&1 &
HPID=$!

# Waits until the SQL answers the value, at most 20 s.
wait_for() {
  for _ in $(seq 1 200); do
    [ "$(sq "$DB" "$1" 2>/dev/null)" = "$2" ] && return 0
    sleep 0.1
  done
  return 1
}
wait_for "SELECT count(DISTINCT pipeline) FROM events WHERE kind='market_data'" 2 \
  && pass "the market data connected for both pipelines" || fail "no market data events: $(cat "$WORK/run.out")"
sleep 1
counters=$(curl -s -f "$URL/_control/counters")
streams=$(sqlite3 :memory: "SELECT json_extract('${counters//\'/\'\'}', '\$.ws_open.trade') || ' ' || json_extract('${counters//\'/\'\'}', '\$.ws_open.data')")
assert_eq "$streams" "1 2" "two pipelines on one account hold one trade-updates stream and two data streams (bars, news)"
assert_eq "$(sq "$DB" "SELECT count(*) FROM executions")" "0" "no history bar was traded on (one closed at 107)"

# Live bars are stamped with the minute now under way and the two after it, as Alpaca's
# stream sends a bar when its minute closes (one stamped two intervals ago is history).
minute() { date -u -d "@$(( $(date -u +%s) / 60 * 60 + $1 * 60 ))" +%Y-%m-%dT%H:%M:%SZ; }
control bar "{\"symbol\":\"AAPL\",\"t\":\"$(minute 0)\",\"o\":101,\"h\":106.5,\"l\":101,\"c\":106.5,\"v\":500}"
wait_for "SELECT status FROM executions" "monitoring" \
  && pass "a live bar made a signal and the entry filled" \
  || fail "no monitored execution: $(sq "$DB" "SELECT status, reason FROM executions"); $(tail -20 "$WORK/run.out")"
# `monitoring` comes with the broker's acceptance; the fill's event can follow it.
wait_for "SELECT avg_fill_price FROM orders WHERE role='entry'" "10650000000" || true
entry=$(sq "$DB" "SELECT avg_fill_price FROM orders WHERE role='entry'")
assert_eq "$entry" "10650000000" "the entry filled at the live bar's close, 106.50"

control bar '{"symbol":"AAPL","o":106.5,"h":112,"l":106,"c":111,"v":500}'
control bar '{"symbol":"AAPL","o":111,"h":116.25,"l":111,"c":116.25,"v":500}'
wait_for "SELECT status FROM executions" "completed" \
  && pass "the strategy's close completed the execution" \
  || fail "not completed: $(sq "$DB" "SELECT status, reason FROM executions"); $(tail -20 "$WORK/run.out")"
assert_eq "$(sq "$DB" "SELECT exit_reason || ' / ' || detail FROM position_exits")" "strategy_exit / strategy_exit: probe target" "the exit is the strategy's, with its reason"
assert_eq "$(sq "$DB" "SELECT realized_pnl FROM executions")" "9750000000" "P&L is (116.25 - 106.50) x 10 = 97.50, to the unit"
assert_eq "$(sq "$DB" "SELECT count(*) - count(DISTINCT fill_id) FROM fills")" "0" "no fill recorded twice"
counters=$(curl -s -f "$URL/_control/counters")
most=$(sqlite3 :memory: "SELECT max(value) FROM json_each(json_extract('${counters//\'/\'\'}', '\$.orders_by_client_order_id'))")
assert_eq "$most" "1" "every client order id reached the fake once"
pos=$(curl -s -o /dev/null -w '%{http_code}' -H "APCA-API-KEY-ID: $KEY" -H "APCA-API-SECRET-KEY: $SECRET" "$URL/v2/positions/AAPL")
assert_eq "$pos" "404" "the fake holds no AAPL position"

# ---- the bar stream drops; a bar published while it is down arrives by the catch-up ----
# The bar is stamped with the minute just ended, and the host trades it only while it is
# that (a bar two intervals old is history). Starting late in a minute, the reconnect and
# catch-up could end in the next one and the bar would be history: wait for a fresh minute.
while [ "$((10#$(date -u +%S)))" -gt 35 ]; do sleep 1; done
curl -s -f -o /dev/null -X POST -d '{"path":"/v2/iex"}' "$URL/_control/ws_drop"
# Stamped with the minute just ended: a REST catch-up leaves a minute still forming for later.
control bar "{\"symbol\":\"MSFT\",\"t\":\"$(minute -1)\",\"o\":101,\"h\":107.25,\"l\":101,\"c\":107.25,\"v\":500}"
wait_for "SELECT status FROM executions WHERE pipeline='live2'" "monitoring" \
  && pass "the bar missed while the stream was down made its signal after the reconnect" \
  || fail "live2 did not trade the caught-up bar: $(sq "$DB" "SELECT status, reason FROM executions WHERE pipeline='live2'"); $(tail -20 "$WORK/run.out")"
wait_for "SELECT avg_fill_price FROM orders o JOIN executions e ON e.id = o.execution_id WHERE e.pipeline='live2' AND o.role='entry'" "10725000000" || true
assert_eq "$(sq "$DB" "SELECT avg_fill_price FROM orders o JOIN executions e ON e.id = o.execution_id WHERE e.pipeline='live2' AND o.role='entry'")" "10725000000" "at its close, 107.25"

# ---- ctrl-C: a clean stop with the summary ----
kill -INT $HPID
rc=0
wait $HPID || rc=$?
HPID=""
assert_eq "$rc" "0" "SIGINT stops the live run cleanly, exit code 0"
out=$(cat "$WORK/run.out")
assert_contains "$out" "received SIGINT" "the run says why it stopped"
assert_contains "$out" "==== summary (run) ====" "and prints its summary"
assert_contains "$out" "trades 1  wins 1" "the summary counts the trade"
assert_eq "$(sq "$DB" "SELECT value FROM meta WHERE key='run_state'")" "stopped" "the store says the run was stopped"
leaks=$( (cat "$WORK/run.out"; sqlite3 "$DB" .dump) | grep -c -e "$SECRET" -e "$KEY" || true)
assert_eq "$leaks" "0" "neither the key nor the secret is in the output or the store"
finish
