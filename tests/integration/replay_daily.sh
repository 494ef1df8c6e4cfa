# `run` replaying daily bars: every gap between bars is longer than the replay waits out,
# so the clock jumps from bar to bar. What a bar starts (the entry's order, its accept by
# the broker, a close) must happen at that bar's time, as in a backtest, not bars later:
# the jump once went first, and each step of an entry fell one bar behind (an order sent
# eight days after its signal).
source "$(dirname "$0")/lib.sh"

python3 - "$WORK/daily.csv" <<'PY'
import datetime, sys
d = datetime.date(2024, 1, 1)
rows = ["timestamp,symbol,open,high,low,close,volume"]
for i in range(12):
    while d.weekday() >= 5:
        d += datetime.timedelta(days=1)
    c = 100 + i
    rows.append(f"{d.isoformat()}T00:00:00Z,ACME,{c - 0.5:.2f},{c + 1:.2f},{c - 1:.2f},{c:.2f},1000")
    d += datetime.timedelta(days=1)
open(sys.argv[1], "w").write("\n".join(rows) + "\n")
PY
cat > "$WORK/days.lua" <<'LUA'
-- Buys on the 3rd bar, closes on the 8th.
return { on_bar = function(ctx, bar)
  ctx.state.n = (ctx.state.n or 0) + 1
  if ctx.state.n == 3 then return { side = "buy", stop_loss = bar.close * 0.8, take_profit = bar.close * 1.5 } end
  if ctx.state.n == 8 and ctx.position then return { side = "close", reason = "bar 8" } end
end }
LUA
cat > "$WORK/days.pipeline.lua" <<LUA
return apex.pipeline {
  name = "days", symbols = { "ACME" },
  data = { files = { "$WORK/daily.csv" } },
  strategy = "$WORK/days.lua",
  risk = { max_position_pct = 0.2, max_risk_pct = 0.02 },
}
LUA
"$APEX_HOST" run --quiet --speed 100000 --db "$WORK/r.db" "$WORK/days.pipeline.lua" > "$WORK/run.out" 2>&1 ||
  { fail "run failed"; cat "$WORK/run.out"; finish; }
bar() { awk -F, -v n="$1" 'NR == n + 1 { print substr($1, 1, 10) }' "$WORK/daily.csv"; }
day() { sq "$WORK/r.db" "SELECT date($1 / 1000000, 'unixepoch') FROM $2"; }
assert_eq "$(day submitted_at "orders WHERE role = 'entry'")" "$(bar 3)" \
  "the entry order is sent on the signal's bar ($(bar 3))"
assert_eq "$(day ts "fills WHERE side = 'buy'")" "$(bar 4)" "and fills on the next bar, as a market order does"
assert_eq "$(day submitted_at "orders WHERE side = 'sell' AND status = 'filled'")" "$(bar 8)" \
  "the strategy's close is sent on its bar ($(bar 8))"
assert_eq "$(day ts "fills WHERE side = 'sell'")" "$(bar 9)" "and fills on the next"
assert_eq "$(sq "$WORK/r.db" "SELECT status FROM executions")" "completed" "the execution completed"
finish
