# A strategy that raises an error fails only its own execution: the same pipeline's other
# symbols and another pipeline in the same host keep trading, and the host exits 0.
source "$(dirname "$0")/lib.sh"
demo_setup
cat > "$WORK/faulty.lua" <<'LUA'
-- Trades like a 10-bar momentum strategy but raises on TSLA.
local M = {}
function M.on_bar(ctx, bar)
  if bar.symbol == "TSLA" and bar.close < 195 then
    local t = nil
    return t.crash  -- attempt to index a nil value
  end
  ctx.state.n = (ctx.state.n or 0) + 1
  if ctx.state.n % 200 == 0 then
    return { side = "buy", reason = "every 200 bars" }
  end
end
return M
LUA
cat > "$WORK/faulty_pipeline.lua" <<LUA
return apex.pipeline {
  name = "faulty", symbols = { "AAPL", "TSLA" },
  data = { files = { "$WORK/data/bars.csv" } },
  strategy = "$WORK/faulty.lua",
}
LUA
set +e
"$APEX_HOST" backtest --quiet --db "$WORK/e.db" "$WORK/faulty_pipeline.lua" "$WORK/pipelines/rsi_reversion.lua" > "$WORK/e.out" 2>&1
code=$?
set -e
assert_eq "$code" "0" "the host survives a failing strategy"
failed=$(sq "$WORK/e.db" "SELECT reason FROM executions WHERE pipeline='faulty' AND symbol='TSLA' AND status='failed' LIMIT 1")
assert_contains "$failed" "faulty.lua:6:" "the failure carries the script's file and line"
assert_contains "$failed" "nil value" "the failure carries the Lua message"
n=$(sq "$WORK/e.db" "SELECT count(*) FROM executions WHERE pipeline='faulty' AND symbol='AAPL' AND status IN ('completed','monitoring')")
[ "$n" -ge 1 ] && pass "AAPL in the same pipeline traded ($n executions)" || fail "AAPL did not trade"
m=$(sq "$WORK/e.db" "SELECT count(*) FROM executions WHERE pipeline='rsi-reversion' AND status IN ('completed','monitoring','skipped')")
[ "$m" -ge 1 ] && pass "the other pipeline ran ($m executions)" || fail "the other pipeline did not run"
finish
