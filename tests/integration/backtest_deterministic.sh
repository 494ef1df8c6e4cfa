# The demo pipelines in backtest mode give identical trades on two runs.
source "$(dirname "$0")/lib.sh"
demo_setup
P="$WORK/pipelines/ma_trend.lua $WORK/pipelines/rsi_reversion.lua"
"$APEX_HOST" backtest --quiet --db "$WORK/a.db" $P > "$WORK/a.out"
"$APEX_HOST" backtest --quiet --db "$WORK/b.db" $P > "$WORK/b.out"
Q="SELECT e.pipeline, f.symbol, f.side, f.qty, f.price, f.fee, f.ts FROM fills f JOIN executions e ON e.id = f.execution_id ORDER BY f.ts, f.id"
A=$(sq "$WORK/a.db" "$Q"); B=$(sq "$WORK/b.db" "$Q")
n=$(sq "$WORK/a.db" "SELECT count(*) FROM fills")
[ "$n" -ge 4 ] && pass "the demo trades ($n fills)" || fail "expected at least 4 fills, got $n"
assert_eq "$A" "$B" "fills identical across two runs"
S="SELECT pipeline, symbol, status, realized_pnl, reason FROM executions ORDER BY id"
assert_eq "$(sq "$WORK/a.db" "$S")" "$(sq "$WORK/b.db" "$S")" "executions identical across two runs"
assert_contains "$(cat "$WORK/a.out")" "win rate" "summary printed"
# The fills ledger reconciles with the positions to the smallest unit.
bad=$(sq "$WORK/a.db" "SELECT count(*) FROM positions p WHERE p.quantity != abs((SELECT coalesce(sum(CASE side WHEN 'buy' THEN qty ELSE -qty END),0) FROM fills f WHERE f.execution_id = p.execution_id))")
assert_eq "$bad" "0" "every position equals the signed sum of its fills"
finish
