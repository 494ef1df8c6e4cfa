# Issue 8: a strategy cannot flood the store or the log. It fails on every bar of five days
# with an error that names the bar's time (so no two are alike), prints a 256 KiB string and
# logs 300 lines in one call. The store keeps a few failed executions and summaries plus
# the exact count, the output stays small, and `status` shows the failures.
source "$(dirname "$0")/lib.sh"
demo_setup
cat > "$WORK/flood.lua" <<'LUA'
return {
  on_bar = function(ctx, bar)
    ctx.state.n = (ctx.state.n or 0) + 1
    if ctx.state.n == 10 and ctx.symbol == "AAPL" then
      print(string.rep("x", 256 * 1024))
      for i = 1, 300 do ctx.log("line %d", i) end
    end
    error("no data for " .. ctx.symbol .. " at " .. bar.time)
  end,
}
LUA
cat > "$WORK/flood_pipeline.lua" <<LUA
return apex.pipeline {
  name = "flood", symbols = { "AAPL", "MSFT", "TSLA" },
  data = { files = { "$WORK/data/bars.csv" } },
  strategy = "$WORK/flood.lua",
}
LUA
bars=$(grep -cE ',(AAPL|MSFT|TSLA),' "$WORK/data/bars.csv")
set +e
"$APEX_HOST" backtest --db "$WORK/f.db" "$WORK/flood_pipeline.lua" > "$WORK/f.out" 2>&1
code=$?
set -e
assert_eq "$code" "0" "the host survives a strategy that fails on every bar"
total=$(sq "$WORK/f.db" "SELECT failures FROM script_failures WHERE pipeline='flood' AND stage='strategy'")
assert_eq "$total" "$bars" "every failure is counted ($bars bars)"
recorded=$(sq "$WORK/f.db" "SELECT recorded FROM script_failures WHERE pipeline='flood' AND stage='strategy'")
failed=$(sq "$WORK/f.db" "SELECT count(*) FROM executions WHERE status='failed'")
assert_eq "$failed" "$recorded" "each recorded failure is one failed execution"
# 5 a day at most: each night is a quiet hour that ends the flood.
[ "$failed" -le 25 ] && pass "few failed executions ($failed of $bars)" || fail "$failed failed executions"
summaries=$(sq "$WORK/f.db" "SELECT count(*) FROM events WHERE kind='script_errors'")
[ "$summaries" -gt 0 ] && [ "$summaries" -le 60 ] && pass "the rest in $summaries summaries" || fail "$summaries summaries"
size=$(stat -c %s "$WORK/f.db")
[ "$size" -lt 1000000 ] && pass "the store stays small ($size bytes)" || fail "the store grew to $size bytes"
# The log: one line per recorded failure and per summary, nothing huge, the caps said.
lines=$(grep -c "stage failed" "$WORK/f.out")
assert_eq "$lines" "$recorded" "one error line per recorded failure"
longest=$(awk '{ if (length($0) > m) m = length($0) } END { print m }' "$WORK/f.out")
[ "$longest" -lt 1500 ] && pass "no log line is huge (longest $longest bytes)" || fail "a $longest-byte log line"
assert_contains "$(cat "$WORK/f.out")" "... [cut at 1024 bytes]" "the 256 KiB print is cut"
assert_contains "$(cat "$WORK/f.out")" "[flood] print output capped: 101 line(s) dropped" "the dropped lines are reported"
assert_contains "$(cat "$WORK/f.out")" "script failures: strategy $bars ($recorded recorded" "the summary counts them"
out=$("$APEX_HOST" status --db "$WORK/f.db")
assert_contains "$out" "SCRIPT FAILURES" "status has the failures section"
assert_contains "$(grep -E '^  flood +strategy' <<<"$out")" "$bars" "status shows every failure"
finish
