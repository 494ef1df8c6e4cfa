# issue 13 items 5 and 7: --param, --from/--to and --strict change what a backtest does,
# and `check` refuses an undeclared parameter and a misspelt callback with file and line.
source "$(dirname "$0")/lib.sh"
demo_setup
P="$WORK/pipelines/ma_trend.lua"
run() { set +e; "$@" > "$WORK/out" 2>&1; code=$?; set -e; out=$(cat "$WORK/out"); }
execs() { sq "$1" "SELECT count(*), date(min(created_at)/1000000,'unixepoch'), date(max(created_at)/1000000,'unixepoch') FROM executions"; }

# --- a parameter the strategy does not declare ----------------------------------------------
sed 's/fast = 10,/fats = 10,/' "$P" > "$WORK/typo.lua"
line=$(grep -n 'fats = 10' "$WORK/typo.lua" | cut -d: -f1)
run "$APEX_HOST" check "$WORK/typo.lua"
assert_eq "$code" 3 "check: params.fats in the pipeline exits 3"
assert_contains "$out" "$WORK/typo.lua:$line: strategy: ma_cross.lua: params.fats: the strategy declares no such parameter; did you mean 'fast'?" "check names the pipeline line and the declared name"
run "$APEX_HOST" backtest --quiet --db "$WORK/t.db" "$WORK/typo.lua"
assert_eq "$code" 3 "backtest refuses the same pipeline"
run "$APEX_HOST" backtest --quiet --db "$WORK/t.db" --param strategy.fats=5 "$P"
assert_eq "$code" 3 "backtest --param strategy.fats=5 exits 3"
assert_contains "$out" "--param strategy.fats=5: strategy: ma_cross.lua: params.fats: the strategy declares no such parameter; did you mean 'fast'?" "the error names the --param"
run "$APEX_HOST" check --param strategy.fast=0 "$P"
assert_eq "$code" 3 "check --param strategy.fast=0 (below the declared min) exits 3"
assert_contains "$out" "params.fast: must be from 1 to 100000, got 0" "out of the declared range"
run "$APEX_HOST" check --param bias.period=1 "$P"
assert_eq "$code" 3 "check --param bias.period=1 (trend_bias declares min 2) exits 3"
assert_contains "$out" "--param bias.period=1: bias: trend_bias.lua: params.period: must be from 2 to 100000, got 1" "a bias parameter from --param"
run "$APEX_HOST" check --param risk.max_positions=two "$P"
assert_eq "$code" 3 "a pipeline field from --param goes through the schema"
assert_contains "$out" "--param risk.max_positions=two: risk.max_positions: expected a whole number" "schema error names the --param"
run "$APEX_HOST" check --param risk.max_positons=3 "$P"
assert_contains "$out" "risk.max_positons: unknown field; did you mean max_positions?" "misspelt field from --param"
run "$APEX_HOST" backtest --param strategy.fast "$P"
assert_eq "$code" 2 "--param without =VALUE is a command-line error"

# --- --param changes the result -------------------------------------------------------------
run "$APEX_HOST" backtest --quiet --db "$WORK/base.db" "$P"
assert_eq "$code" 0 "default backtest"
run "$APEX_HOST" backtest --quiet --db "$WORK/fast5.db" --param strategy.fast=5 "$P"
assert_eq "$code" 0 "backtest --param strategy.fast=5"
base=$(sq "$WORK/base.db" "SELECT count(*) FROM executions")
fast5=$(sq "$WORK/fast5.db" "SELECT count(*) FROM executions")
# A 5-bar average crosses the 30-bar one more often than a 10-bar one does.
if [ "$fast5" -gt "$base" ]; then pass "fast=5 trades more ($fast5) than fast=10 ($base)"; else fail "fast=5 gave $fast5 executions, fast=10 $base"; fi
run "$APEX_HOST" backtest --quiet --db "$WORK/one.db" --param risk.max_positions=1 --param strategy.fast=5 "$P"
skipped=$(sq "$WORK/one.db" "SELECT count(*) FROM executions WHERE status='skipped'")
skipped5=$(sq "$WORK/fast5.db" "SELECT count(*) FROM executions WHERE status='skipped'")
if [ "$skipped" -gt "$skipped5" ]; then pass "max_positions=1 skips more entries ($skipped) than 2 ($skipped5)"; else fail "max_positions=1 skipped $skipped, 2 skipped $skipped5"; fi

# --- --from / --to --------------------------------------------------------------------------
assert_eq "$(execs "$WORK/base.db" | cut -d'|' -f2-)" "2024-03-04|2024-03-08" "the whole data: entries from the 4th to the 8th"
run "$APEX_HOST" backtest --quiet --db "$WORK/span.db" --from 2024-03-05 --to 2024-03-07 "$P"
assert_eq "$code" 0 "backtest --from --to"
assert_eq "$(execs "$WORK/span.db" | cut -d'|' -f2-)" "2024-03-05|2024-03-07" "--from 2024-03-05 --to 2024-03-07: entries only on those days"
n_span=$(execs "$WORK/span.db" | cut -d'|' -f1)
n_inside=$(sq "$WORK/base.db" "SELECT count(*) FROM executions WHERE date(created_at/1000000,'unixepoch') BETWEEN '2024-03-05' AND '2024-03-07'")
if [ "$n_span" -gt 0 ] && [ "$n_span" -le "$n_inside" ]; then pass "$n_span entries in the span (the full run had $n_inside there)"; else fail "span $n_span vs full $n_inside"; fi
run "$APEX_HOST" backtest --quiet --db "$WORK/x.db" --from 2024-03-07 --to 2024-03-05 "$P"
assert_eq "$code" 2 "--to before --from is a command-line error"
run "$APEX_HOST" backtest --quiet --db "$WORK/x.db" --from yesterday "$P"
assert_contains "$out" "'yesterday' is not a date or time" "a bad date is named"

# --- callbacks that are not callbacks -------------------------------------------------------
cat > "$WORK/typo_cb.lua" <<'LUA'
local M = {}
function M.on_bar(ctx, bar) return nil end

function M.edg(ctx, position) return 0 end
return M
LUA
sed "s#file = \"[^\"]*ma_cross.lua\"#file = \"$WORK/typo_cb.lua\"#; s#params = { fast.*#params = {},#" "$P" > "$WORK/cb.lua"
run "$APEX_HOST" check "$WORK/cb.lua"
assert_eq "$code" 3 "check: a function named edg exits 3"
assert_contains "$out" "$WORK/typo_cb.lua:4: 'edg' is not a callback, so the host never calls it; did you mean 'edge'?" "edg: file, line, did you mean"
sed -i 's/M.edg(/M.on_exits(/' "$WORK/typo_cb.lua"
run "$APEX_HOST" check "$WORK/cb.lua"
assert_contains "$out" "'on_exits' is not a callback, so the host never calls it; did you mean 'on_exit'?" "on_exits: did you mean on_exit"

# --- --strict -------------------------------------------------------------------------------
cat > "$WORK/raises.lua" <<'LUA'
local M = {}
function M.on_bar(ctx, bar)
  error("no data for " .. bar.symbol)
end
return M
LUA
sed "s#$WORK/typo_cb.lua#$WORK/raises.lua#" "$WORK/cb.lua" > "$WORK/raises_pipeline.lua"
run "$APEX_HOST" backtest --quiet --db "$WORK/r.db" "$WORK/raises_pipeline.lua"
assert_eq "$code" 0 "a strategy raising on every bar: exit 0 without --strict"
run "$APEX_HOST" backtest --quiet --strict --db "$WORK/r.db" "$WORK/raises_pipeline.lua"
assert_eq "$code" 7 "with --strict: exit 7"
assert_contains "$out" "--strict: " "the summary says why"
run "$APEX_HOST" backtest --quiet --strict --db "$WORK/ok.db" "$P"
assert_eq "$code" 0 "--strict on a clean run: exit 0"
# --- check runs on_start on the first bar, reads the data through, flags odd values ---------
printf 'local M = {}\nfunction M.on_start(ctx)\n  ctx.state.w = ctx.params.window * 2\nend\nfunction M.on_bar(ctx, bar) end\nreturn M\n' > "$WORK/nostart.lua"
sed "s#$WORK/typo_cb.lua#$WORK/nostart.lua#" "$WORK/cb.lua" > "$WORK/nostart_pipeline.lua"
run "$APEX_HOST" check "$WORK/nostart_pipeline.lua"
assert_eq "$code" 3 "check: on_start raising on the first bar exits 3"
assert_contains "$out" "$WORK/nostart_pipeline.lua: strategy: check ran on_start for AAPL, before on_bar on its first bar (the data's first row, 2024-03-04 14:30:00 UTC), and it raised: $WORK/nostart.lua:3: attempt to perform arithmetic on a nil value (field 'window'). Fix $WORK/nostart.lua:3 and run check again: with this error, backtest and run would call the strategy for AAPL no more, so AAPL would not trade" "on_start's error: check ran it, on which bar, file:line, what to do"
# A symbol without rows: on_start runs on a synthetic bar, and check says so.
sed -i 's/"AAPL", "TSLA"/"AAPL", "TSLX"/' "$WORK/nostart_pipeline.lua"
run "$APEX_HOST" check "$WORK/nostart_pipeline.lua"
assert_eq "$code" 3 "check: on_start raising on a synthetic bar exits 3"
assert_contains "$out" "$WORK/nostart_pipeline.lua: strategy: check ran on_start for TSLX, before on_bar on a synthetic bar (the data has no row of TSLX; open = high = low = close = 100.00), and it raised: $WORK/nostart.lua:3:" "on_start on a synthetic bar says so"
sed 's/"AAPL", "TSLA"/"AAPL", "TSLX"/; s/max_risk_pct = 0.01/max_risk_pct = 1/' "$P" > "$WORK/odd.lua"
run "$APEX_HOST" check "$WORK/odd.lua"
assert_eq "$code" 0 "warnings leave check's exit code 0"
assert_contains "$out" "$WORK/odd.lua: warning: symbols[2] = TSLX: the data (data.files) has no rows for it" "a declared symbol without rows"
assert_contains "$out" "$WORK/odd.lua: warning: risk.max_risk_pct = 1: risks 20% or more of the capital on one trade" "max_risk_pct = 1 is suspicious"
run "$APEX_HOST" check "$P"
if grep -q warning <<<"$out"; then fail "the example pipeline has no warnings: $out"; else pass "no warnings on the example"; fi
finish
