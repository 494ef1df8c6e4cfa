# The Alpaca adapter end to end (issue 10): `apex-host check --connect` and `apex-host run`
# against the fake Alpaca server (build/fake-alpaca) on 127.0.0.1. The pipeline's bars come
# from a CSV file; its orders, fills and positions live at the fake, which fills market
# orders at once at its latest price. Checked where the bytes land: every client order id
# reached the fake once, every fill is in the store once, every execution completed, the
# fake holds no position at the end, and the key and secret appear in no output or row.
source "$(dirname "$0")/lib.sh"
: "${APEX_BUILD_DIR:?set by ctest}"
"$APEX_DATAGEN" "$WORK/data" >/dev/null
KEY="PK$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F)"
SECRET="sk-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"

"$APEX_BUILD_DIR/fake-alpaca" --port 0 --key "$KEY" --secret "$SECRET" --fill immediate \
  > "$WORK/fake.out" 2> "$WORK/fake.err" &
FPID=$!
trap 'kill $FPID 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do [ -s "$WORK/fake.out" ] && break; sleep 0.05; done
PORT=$(head -1 "$WORK/fake.out" | sed 's/.*://')
URL="http://127.0.0.1:$PORT"
curl -s -f -o /dev/null -X POST -d '{"symbol":"AAPL","c":180}' "$URL/_control/bar"

cat > "$WORK/alpaca.lua" <<LUA
return apex.pipeline {
    name = "alp",
    symbols = { "AAPL" },
    data = { files = { "$WORK/data/bars.csv" } },
    broker = { kind = "alpaca", base_url = "$URL", data_url = "$URL" },
    -- The limiter counts wall-time minutes for a real venue; a replay at 2000x asks more.
    monitoring = { max_api_calls_per_minute = 3000 },
    strategy = { file = "$APEX_SOURCE_DIR/strategies/ma_cross.lua" },
}
LUA

# ---- check ----
out=$(APCA_API_KEY_ID=$KEY APCA_API_SECRET_KEY=$SECRET "$APEX_HOST" check --connect "$WORK/alpaca.lua" 2>&1) && rc=0 || rc=$?
assert_eq "$rc" "0" "check --connect succeeds with the right keys"
assert_contains "$out" "broker: alpaca at $URL (paper)" "check names the broker and its URL"
assert_contains "$out" "connect: alpaca answered: equity 100000.00, cash 100000.00" "check --connect reports the account"
out=$(APCA_API_KEY_ID=$KEY APCA_API_SECRET_KEY=wrong "$APEX_HOST" check --connect "$WORK/alpaca.lua" 2>&1) && rc=0 || rc=$?
assert_eq "$rc" "3" "check --connect fails with a wrong secret"
assert_contains "$out" "HTTP 401" "the failure says the broker refused the keys"
out=$(env -u APCA_API_KEY_ID APCA_API_SECRET_KEY=$SECRET "$APEX_HOST" check "$WORK/alpaca.lua" 2>&1) && rc=0 || rc=$?
assert_eq "$rc" "3" "check fails without the key"
assert_contains "$out" "environment variable APCA_API_KEY_ID is not set" "and names the variable"

# ---- run ----
APCA_API_KEY_ID=$KEY APCA_API_SECRET_KEY=$SECRET "$APEX_HOST" run --speed 2000 --max-seconds 12 \
  --db "$WORK/r.db" --fresh "$WORK/alpaca.lua" > "$WORK/run.out" 2>&1 || true
DB="$WORK/r.db"
n=$(sq "$DB" "SELECT count(*) FROM executions")
[ "$n" -ge 2 ] && pass "$n executions traded at the fake" || { fail "only $n executions"; cat "$WORK/run.out"; }
done_n=$(sq "$DB" "SELECT count(*) FROM executions WHERE status='completed'")
open_n=$(sq "$DB" "SELECT count(*) FROM executions WHERE status IN ('running','monitoring')")
assert_eq "$((done_n + open_n))" "$n" "every execution completed or is still being monitored"
assert_eq "$(sq "$DB" "SELECT count(*) - count(DISTINCT fill_id) FROM fills")" "0" "no fill is in the store twice"
entries=$(sq "$DB" "SELECT count(*) FROM executions e WHERE status='completed' AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.execution_id = e.id AND o.role='entry' AND o.status='filled')")
assert_eq "$entries" "0" "every completed execution's entry filled at the fake"
assert_eq "$(sq "$DB" "SELECT count(*) FROM executions WHERE status='failed'")" "0" "no execution failed"
counters=$(curl -s -f "$URL/_control/counters")
# SQLite's JSON functions read the fake's counters (sqlite3 is already a dependency).
most=$(sqlite3 :memory: "SELECT max(value) FROM json_each(json_extract('${counters//\'/\'\'}', '\$.orders_by_client_order_id'))")
assert_eq "$most" "1" "every client order id reached the fake once"
fills_fake=$(curl -s -f -H "APCA-API-KEY-ID: $KEY" -H "APCA-API-SECRET-KEY: $SECRET" "$URL/v2/account/activities/FILL?direction=asc&page_size=100" | grep -o '"activity_type"' | wc -l)
fills_store=$(sq "$DB" "SELECT count(*) FROM fills")
[ "$open_n" = 0 ] && assert_eq "$fills_store" "$fills_fake" "the store has exactly the fake's fills" || pass "positions still open at the time limit: fills compared only when all closed"
"$APEX_HOST" status --db "$DB" --events 1000 > "$WORK/status.out" 2>&1 || true
assert_contains "$(cat "$WORK/status.out")" "alp" "status reads the run's store"
leaks=$( (cat "$WORK/run.out" "$WORK/status.out"; sqlite3 "$DB" .dump) | grep -c -e "$SECRET" -e "$KEY" || true)
assert_eq "$leaks" "0" "neither the key nor the secret is in the output, the status or the store"
# ---- a kill with a position open; a bracket leg fills while the host is down ----
# A strategy that buys once and holds, its legs far from the fake's price (179), so only
# what the test does at the fake can close the position: the kill never meets an exit
# the host itself started.
cat > "$WORK/hold.lua" <<'LUA'
return { on_bar = function(ctx, bar)
  ctx.state.n = (ctx.state.n or 0) + 1
  if ctx.state.n == 40 then
    return { side = "buy", qty = 10, stop_loss = 100, take_profit = 200 }
  end
end }
LUA
sed -e "s#strategy = .*#strategy = \"$WORK/hold.lua\",#" -e 's#name = "alp"#name = "hold"#' \
  "$WORK/alpaca.lua" > "$WORK/hold.pipeline.lua"
reset_fake() { # forget orders, positions and counters; fill at once; AAPL at 179
  curl -s -f -o /dev/null -X POST -d '{}' "$URL/_control/reset"
  curl -s -f -o /dev/null -X POST -d '{"fill":"immediate"}' "$URL/_control/settings"
  curl -s -f -o /dev/null -X POST -d '{"symbol":"AAPL","c":179}' "$URL/_control/bar"
}
reset_fake
export APCA_API_KEY_ID=$KEY APCA_API_SECRET_KEY=$SECRET
DB2="$WORK/k.db"
victim=""
kill_while_holding "$WORK/hold.pipeline.lua" "$DB2" 2000 "$WORK/k1.out" && victim=$VICTIM
if [ -z "$victim" ]; then
  fail "no position was held at the kill"
else
  pass "killed while execution $victim held a position at the fake"
  entry=$(sq "$DB2" "SELECT avg_fill_price FROM orders WHERE execution_id=$victim AND role='entry'")
  qty=$(sq "$DB2" "SELECT qty FROM executions WHERE id=$victim")
  # Down: the market jumps through the target, and the take-profit leg fills at the fake.
  curl -s -f -o /dev/null -X POST -d '{"symbol":"AAPL","c":230}' "$URL/_control/bar"
  "$APEX_HOST" run --speed 2000 --max-seconds 5 --db "$DB2" "$WORK/hold.pipeline.lua" > "$WORK/k2.out" 2>&1 || true
  row=$(sq "$DB2" "SELECT status || '|' || reason FROM executions WHERE id=$victim")
  assert_eq "$row" "completed|take_profit leg filled at 230.00" "the restart completes it with the leg's reason"
  # Alpaca fills a limit sell that the market gapped through at the market: 230, not 200.
  pnl=$(sq "$DB2" "SELECT realized_pnl FROM executions WHERE id=$victim")
  want=$(( (23000000000 - entry) * (qty / 100000000) )) # whole shares: no overflow
  assert_eq "$pnl" "$want" "and its P&L is the leg's fill against the entry, to the unit"
  assert_contains "$(cat "$WORK/k2.out")" "RESUME" "the restarted host resumed the execution"
  counters=$(curl -s -f "$URL/_control/counters")
  most=$(sqlite3 :memory: "SELECT max(value) FROM json_each(json_extract('${counters//\'/\'\'}', '\$.orders_by_client_order_id'))")
  assert_eq "$most" "1" "no client order id was sent twice across the kill"
  dup=$(sq "$DB2" "SELECT count(*) - count(DISTINCT fill_id) FROM fills")
  assert_eq "$dup" "0" "no fill recorded twice across the kill"
fi
# ---- a kill with a position open; the trader closes it by hand while the host is down ----
reset_fake
DB3="$WORK/h.db"
victim=""
kill_while_holding "$WORK/hold.pipeline.lua" "$DB3" 2000 "$WORK/h1.out" && victim=$VICTIM
if [ -z "$victim" ]; then
  fail "no position was held at the second kill"
else
  curl -s -f -o /dev/null -X POST -d '{"symbol":"AAPL","price":185}' "$URL/_control/close_position"
  "$APEX_HOST" run --speed 2000 --max-seconds 5 --db "$DB3" "$WORK/hold.pipeline.lua" > "$WORK/h2.out" 2>&1 || true
  row=$(sq "$DB3" "SELECT status || '|' || substr(reason, 1, 17) FROM executions WHERE id=$victim")
  assert_eq "$row" "completed|closed_at_broker:" "a position closed by hand completes as closed_at_broker"
  assert_eq "$(sq "$DB3" "SELECT exit_reason FROM positions WHERE execution_id=$victim")" "closed_at_broker" "its position row says closed_at_broker"
  left=$(sq "$DB3" "SELECT count(*) FROM orders WHERE execution_id=$victim AND status NOT IN ('filled','cancelled','rejected','expired')")
  assert_eq "$left" "0" "none of its orders is left working"
  # The closing fill is learned from the broker's FILL activities and recorded: the P&L is
  # the hand close against the entry, to the unit, and the ledger is the broker's.
  entry=$(sq "$DB3" "SELECT avg_fill_price FROM orders WHERE execution_id=$victim AND role='entry'")
  qty=$(sq "$DB3" "SELECT qty FROM executions WHERE id=$victim")
  pnl=$(sq "$DB3" "SELECT realized_pnl FROM executions WHERE id=$victim")
  want=$(( (18500000000 - entry) * (qty / 100000000) )) # whole shares: no overflow
  assert_eq "$pnl" "$want" "its realized P&L is the hand close at 185 against the entry, to the unit"
  assert_eq "$(sq "$DB3" "SELECT realized_pnl FROM positions WHERE execution_id=$victim")" "$want" "and so is its position's"
  assert_eq "$(sq "$DB3" "SELECT count(*) FROM fills WHERE execution_id=$victim AND side='sell' AND price=18500000000")" "1" "the hand close's fill is in the store once"
  acts=$(curl -s -f -H "APCA-API-KEY-ID: $KEY" -H "APCA-API-SECRET-KEY: $SECRET" "$URL/v2/account/activities/FILL?direction=asc&page_size=100")
  # Each fill as "<alpaca order id>|side|qty|price" in fixed point (a store fill id is
  # "<alpaca order id>:<cum qty>").
  fake_fills=$(sqlite3 :memory: "SELECT group_concat(f, ' ') FROM (SELECT json_extract(value, '\$.order_id') || '|' || json_extract(value, '\$.side') || '|' || CAST(round(CAST(json_extract(value, '\$.qty') AS REAL) * 100000000) AS INTEGER) || '|' || CAST(round(CAST(json_extract(value, '\$.price') AS REAL) * 100000000) AS INTEGER) AS f FROM json_each('${acts//\'/\'\'}') ORDER BY f)")
  store_fills=$(sq "$DB3" "SELECT group_concat(f, ' ') FROM (SELECT substr(fill_id, 1, instr(fill_id, ':') - 1) || '|' || side || '|' || qty || '|' || price AS f FROM fills ORDER BY f)")
  [ -n "$fake_fills" ] && assert_eq "$store_fills" "$fake_fills" "the store's fills are the fake's FILL activities" || fail "the fake lists no FILL activities"
  assert_contains "$(sq "$DB3" "SELECT reason FROM executions WHERE id=$victim")" "came from the broker" "its reason says the closing fill came from the broker"
  assert_eq "$(sq "$DB3" "SELECT count(*) FROM fills f JOIN orders o ON o.client_order_id = f.order_client_id WHERE f.execution_id=$victim AND f.price=18500000000")" "0" "the closing fill belongs to no order of apex-host's"
fi
# ---- the session close comes from the venue's calendar ----
# 2024-07-03 closes early at the fake (13:00 New York, 17:00 UTC); exits.session_close stays
# at its 21:00 UTC. One-minute bars 16:48-17:03 UTC: the position bought at 16:50 is closed
# by time_based_urgent in the 5 minutes before the calendar's close, not the configured one.
# (At 100x: faster replays let an exit order's 10 s timeout expire before its fill is heard.)
reset_fake
curl -s -f -o /dev/null -X POST -d '{"date":"2024-07-03","close":"13:00"}' "$URL/_control/calendar"
# And a position opened by hand at the venue (MSFT), which no execution knows.
curl -s -f -o /dev/null -X POST -d '{"symbol":"MSFT","c":400}' "$URL/_control/bar"
curl -s -f -o /dev/null -X POST -H "APCA-API-KEY-ID: $KEY" -H "APCA-API-SECRET-KEY: $SECRET" \
  -d '{"symbol":"MSFT","qty":"5","side":"buy","type":"market","time_in_force":"day"}' "$URL/v2/orders"
{
  echo "timestamp,symbol,open,high,low,close,volume"
  for m in $(seq 0 15); do
    printf '2024-07-03T%02d:%02d:00Z,AAPL,179,179.5,178.5,179,10000\n' $(( 16 + (48 + m) / 60 )) $(( (48 + m) % 60 ))
  done
} > "$WORK/early.csv"
sed 's/ctx.state.n == 40/ctx.state.n == 3/' "$WORK/hold.lua" > "$WORK/buy3.lua" # buys at the 3rd bar
cat > "$WORK/early.lua" <<LUA
return apex.pipeline {
    name = "early",
    symbols = { "AAPL" },
    data = { files = { "$WORK/early.csv" }, timeframe = "1m" },
    broker = { kind = "alpaca", base_url = "$URL", data_url = "$URL" },
    monitoring = { max_api_calls_per_minute = 3000 },
    exits = { time_urgent_minutes = 5 },
    strategy = { file = "$WORK/buy3.lua" },
}
LUA
"$APEX_HOST" run --speed 100 --max-seconds 30 --db "$WORK/e.db" --fresh "$WORK/early.lua" > "$WORK/e.out" 2>&1 || true
assert_contains "$(sq "$WORK/e.db" "SELECT message FROM events WHERE kind='session_calendar'")" "13:30-17:00 UTC" "the day's session is read from the calendar"
cond=$(sq "$WORK/e.db" "SELECT exit_reason || '|' || (triggered_at / 1000000 >= CAST(strftime('%s','2024-07-03T16:55:00') AS INTEGER)) || (triggered_at / 1000000 < CAST(strftime('%s','2024-07-03T17:00:00') AS INTEGER)) FROM position_exits")
assert_eq "$cond" "time_based_urgent|11" "time_based_urgent fired in the 5 minutes before the calendar's close (17:00 UTC)" || cat "$WORK/e.out"
assert_eq "$(sq "$WORK/e.db" "SELECT status FROM executions")" "completed" "and the execution completed before the close"
assert_eq "$(sq "$WORK/e.db" "SELECT count(*) FROM events WHERE kind='unknown_position' AND message LIKE 'MSFT: long 5 %'")" "1" "the position opened by hand is reported once as unknown"
assert_eq "$(sq "$WORK/e.db" "SELECT count(*) FROM orders WHERE symbol='MSFT'")" "0" "and never traded"
"$APEX_HOST" status --db "$WORK/e.db" > "$WORK/e.status" 2>&1 || true
assert_contains "$(sed -n '/UNKNOWN POSITIONS/,/RECENT EVENTS/p' "$WORK/e.status")" "MSFT: long 5" "status shows it under UNKNOWN POSITIONS AT THE BROKER"
# The calendar unreadable (500s): that day falls back to exits.session_close (21:00 UTC),
# said in a session_calendar event; nothing closes before 17:00.
reset_fake
curl -s -f -o /dev/null -X POST -d '{"date":"2024-07-03","close":"13:00"}' "$URL/_control/calendar"
curl -s -f -o /dev/null -X POST -d '{"kind":"500","path":"/v2/calendar","count":20}' "$URL/_control/fault"
"$APEX_HOST" run --speed 100 --max-seconds 30 --db "$WORK/f.db" --fresh "$WORK/early.lua" > "$WORK/f.out" 2>&1 || true
assert_contains "$(sq "$WORK/f.db" "SELECT message FROM events WHERE kind='session_calendar'")" "unavailable" "an unreadable calendar is an event"
assert_contains "$(cat "$WORK/f.out")" "exits.session_close, 21:00 UTC" "and a warning naming the configured close"
assert_eq "$(sq "$WORK/f.db" "SELECT count(*) FROM position_exits")" "0" "the configured close is used: no time_based_urgent before 17:00"
curl -s -f -o /dev/null -X DELETE "$URL/_control/faults"
# ---- a crypto pair: Alpaca takes no bracket on it, so the entry goes alone (gtc, fractional)
# and the host's monitor carries out the stop; no stock session applies ----
reset_fake
curl -s -f -o /dev/null -X POST -d '{"symbol":"BTC/USD","c":43000}' "$URL/_control/bar"
{
  echo "timestamp,symbol,open,high,low,close,volume"
  for m in $(seq 0 29); do
    printf '2024-07-06T16:%02d:00Z,BTC/USD,43000,43010,42990,43000,1.5\n' "$m"
  done
} > "$WORK/btc.csv"
cat > "$WORK/btc_buy.lua" <<'LUA'
return { on_bar = function(ctx, bar)
  ctx.state.n = (ctx.state.n or 0) + 1
  if ctx.state.n == 3 then
    return { side = "buy", qty = 0.01, stop_loss = 42000, take_profit = 45000 }
  end
end }
LUA
cat > "$WORK/btc.lua" <<LUA
return apex.pipeline {
    name = "btc",
    symbols = { "BTC/USD" },
    data = { files = { "$WORK/btc.csv" }, timeframe = "1m" },
    broker = { kind = "alpaca", base_url = "$URL", data_url = "$URL" },
    instruments = { ["BTC/USD"] = { tick = 0.01, lot = 0.0001 } },
    monitoring = { max_api_calls_per_minute = 3000, normal_frequency = 1, urgent_frequency = 1 },
    strategy = { file = "$WORK/btc_buy.lua" },
}
LUA
"$APEX_HOST" run --speed 10 --max-seconds 40 --db "$WORK/c.db" --fresh "$WORK/btc.lua" > "$WORK/c.out" 2>&1 &
CPID=$!
for _ in $(seq 1 150); do
  [ "$(sq "$WORK/c.db" "SELECT status FROM executions" 2>/dev/null)" = monitoring ] && break
  sleep 0.1
done
assert_eq "$(sq "$WORK/c.db" "SELECT status FROM executions")" "monitoring" "the crypto entry filled at the fake" || cat "$WORK/c.out"
orders=$(curl -s -f -H "APCA-API-KEY-ID: $KEY" -H "APCA-API-SECRET-KEY: $SECRET" "$URL/v2/orders?status=all&nested=true")
entry=$(sqlite3 :memory: "SELECT json_extract(value,'\$.order_class') || ' ' || json_extract(value,'\$.time_in_force') || ' ' || json_extract(value,'\$.qty') || ' ' || coalesce(json_array_length(json_extract(value,'\$.legs')), 0) FROM json_each('${orders//\'/\'\'}') WHERE json_extract(value,'\$.side')='buy'")
assert_eq "$entry" "simple gtc 0.01 0" "the entry went alone: a simple gtc order for 0.01 BTC, no legs"
# The price falls through the stop at the fake: the host's monitor sells.
curl -s -f -o /dev/null -X POST -d '{"symbol":"BTC/USD","c":41000}' "$URL/_control/bar"
for _ in $(seq 1 150); do
  [ "$(sq "$WORK/c.db" "SELECT status FROM executions")" = completed ] && break
  sleep 0.1
done
kill -INT $CPID 2>/dev/null; wait $CPID 2>/dev/null || true
assert_eq "$(sq "$WORK/c.db" "SELECT status || '|' || substr(reason, 1, 9) FROM executions")" "completed|stop_loss" "the host's stop_loss closed it" || cat "$WORK/c.out"
assert_eq "$(sq "$WORK/c.db" "SELECT realized_pnl FROM executions")" "-2000000000" "P&L (41000 - 43000) x 0.01 = -20.00, to the unit"
assert_eq "$(sq "$WORK/c.db" "SELECT count(*) FROM events WHERE kind='session_calendar'")" "0" "no stock session is asked for a crypto pair"
pos=$(curl -s -o /dev/null -w '%{http_code}' -H "APCA-API-KEY-ID: $KEY" -H "APCA-API-SECRET-KEY: $SECRET" "$URL/v2/positions/BTCUSD")
assert_eq "$pos" "404" "the fake holds no BTC position"
# ---- the rate limit: a 10 s run never sends more than its limit (every 60 s window of it
# holds all of it) ----
total_requests() {
  local c
  c=$(curl -s -f "$URL/_control/counters")
  sqlite3 :memory: "SELECT sum(value) FROM json_each(json_extract('${c//\'/\'\'}', '\$.requests'))"
}
sed -e 's#max_api_calls_per_minute = 3000#max_api_calls_per_minute = 30#' -e 's#name = "alp"#name = "limited"#' \
  "$WORK/alpaca.lua" > "$WORK/limited.lua"
reset_fake
before=$(total_requests)
"$APEX_HOST" run --speed 2000 --max-seconds 10 --db "$WORK/l.db" --fresh "$WORK/limited.lua" > "$WORK/l.out" 2>&1 || true
sent=$(( $(total_requests) - before ))
[ "$sent" -le 30 ] && [ "$sent" -ge 20 ] && pass "the limited run sent $sent requests, at most its 30 a minute" || fail "the limited run sent $sent requests with a limit of 30 a minute"
finish
