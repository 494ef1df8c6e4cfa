# Issue 13: a stop entry resting at the broker with expires = { bars = 3 } survives a SIGKILL.
# The host replays ten one-minute bars at one bar a second and is killed while the entry
# rests; the restarted host cancels it unfilled after its 3rd bar, counted from the bar at
# which it began to rest, exactly as an uninterrupted run would (the 4th bar would have
# filled it), and the execution is `cancelled` with the expiry reason.
source "$(dirname "$0")/lib.sh"
T0=1709562600 # Mon 2024-03-04 14:30 UTC; one-minute bars
bar() { # bar INDEX OPEN HIGH LOW CLOSE
  echo "$((T0 + 60 * $1)),AAPL,$2,$3,$4,$5,1000" >> "$WORK/bars.csv"
}
echo "timestamp,symbol,open,high,low,close,volume" > "$WORK/bars.csv"
for i in 0 1 2 3 4; do bar $i 100 100.5 99.5 100; done # the 5th bar signals
# Below the stop at 105 for five bars, then a breakout: an entry resting since bar 4 or 5
# expires after bar 7 or 8, before it.
bar 5 100 103 99.5 102.5
bar 6 102.5 104 102 103.5
bar 7 103.5 104.5 103 104
bar 8 104 104.8 103.5 104.5
bar 9 104.5 110 104.5 109
cat > "$WORK/breakout.lua" <<'LUA'
local M = {}
function M.on_bar(ctx, bar)
  ctx.state.n = (ctx.state.n or 0) + 1
  if ctx.state.n == 5 then
    return { side = "buy", entry = "stop", price = 105, expires = { bars = 3 },
             stop_loss = 100, take_profit = 120, qty = 10 }
  end
end
return M
LUA
cat > "$WORK/rest.lua" <<LUA
return apex.pipeline {
  name = "rest", symbols = { "AAPL" },
  data = { files = { "$WORK/bars.csv" } },
  strategy = "$WORK/breakout.lua",
  broker = { starting_cash = 100000, spread_bps = 0, slippage_bps = 0 },
  risk = { max_position_pct = 1, max_risk_pct = 1 },
  exits = { partial_exits = { enabled = false }, trailing_stop = { enabled = false } },
}
LUA
DB="$WORK/rest.db"

# wait_for SQL WANT: polls the store until SQL answers WANT (up to 15 s); prints the answer.
wait_for() {
  local got=""
  for _ in $(seq 1 300); do
    got=$(sq "$DB" "$1" 2>/dev/null || true)
    [ "$got" = "$2" ] && break
    sleep 0.05
  done
  echo "$got"
}

"$APEX_HOST" run --speed 60 --db "$DB" "$WORK/rest.lua" > "$WORK/run1.out" 2>&1 &
pid=$!
kill_at_exit $pid
got=$(wait_for "SELECT e.status || '|' || o.type || '|' || o.status FROM executions e JOIN orders o ON o.execution_id = e.id AND o.role = 'entry'" "monitoring|stop|accepted")
# Killed once the broker has seen bar 5 as well: the restart must count that bar (which it
# replays as warm-up) if the entry rested through it.
for _ in $(seq 1 100); do
  seen=$(sq "$DB.rest.paper" "SELECT ts / 1000000 FROM paper_symbols WHERE symbol = 'AAPL'" 2>/dev/null || true)
  [ -n "$seen" ] && [ "$seen" -ge $((T0 + 300)) ] && break
  sleep 0.05
done
kill -9 $pid
set +e; wait $pid 2>/dev/null; set -e
assert_eq "$got" "monitoring|stop|accepted" "the stop entry rests at the broker"
got=$(sq "$DB" "SELECT e.status || '|' || o.status FROM executions e JOIN orders o ON o.execution_id = e.id AND o.role = 'entry'")
assert_eq "$got" "monitoring|accepted" "the host was killed while it rested"
resting=$(sq "$DB" "SELECT resting_since / 1000000 FROM executions")
k=$(((resting - T0) / 60)) # the bar at which it began to rest: 4, or 5 under load
case "$k" in 4|5) pass "it rests since bar $k";; *) fail "resting_since $resting is not bar 4 or 5"; finish;; esac

"$APEX_HOST" run --speed 600 --db "$DB" "$WORK/rest.lua" > "$WORK/run2.out" 2>&1
assert_contains "$(cat "$WORK/run2.out")" "RESUME   AAPL  execution 1 monitoring (qty pending entry)" "the restarted host resumed the resting entry"
assert_eq "$(sq "$DB" "SELECT status FROM executions")" "cancelled" "the restarted host cancelled the expired entry"
reason=$(sq "$DB" "SELECT reason FROM executions")
assert_contains "$reason" "expired: the stop entry at 105.00 was not filled within 3 bar(s) (expires.bars = 3)" "the reason is the expiry"
# At bar k + 3 of the replayed clock, as without the kill: after it, before the next one.
done_at=$(sq "$DB" "SELECT coalesce(completed_at, 0) / 1000000 FROM executions")
due=$((T0 + 60 * (k + 3)))
[ "$done_at" -ge "$due" ] && [ "$done_at" -lt $((due + 60)) ] &&
  pass "cancelled at bar $((k + 3))" || fail "cancelled at $done_at, not within bar $((k + 3)) ($due)"
assert_eq "$(sq "$DB" "SELECT status FROM orders WHERE role = 'entry'")" "cancelled" "the entry order row is cancelled"
assert_eq "$(sq "$DB" "SELECT count(*) FROM orders WHERE status NOT IN ('cancelled', 'filled', 'rejected', 'expired')")" "0" "nothing is left working"
assert_eq "$(sq "$DB" "SELECT count(*) FROM fills")" "0" "nothing filled"
assert_eq "$(sq "$DB.rest.paper" "SELECT status FROM paper_orders WHERE role = 'entry'")" "cancelled" "the broker cancelled it"
finish
