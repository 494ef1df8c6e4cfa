# issue 13 items 5 and 7: --param, --from/--to and --strict change what a backtest does,
# and `check` refuses an undeclared parameter and a misspelt callback with file and line.
source "$(dirname "$0")/lib.sh"
demo_setup
P="$WORK/pipelines/ma_trend.lua"
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

# A declaration without its type says which type its default has.
cat > "$WORK/untyped.lua" <<'LUA'
local M = {}
M.params = { fast = { default = 10, min = 2, max = 50 } }
function M.on_bar(ctx, bar) end
return M
LUA
cat > "$WORK/untyped_p.lua" <<LUA
return apex.pipeline { name = "untyped", symbols = { "AAPL" },
  data = { files = { "$WORK/data/bars.csv" } }, strategy = "$WORK/untyped.lua" }
LUA
run "$APEX_HOST" check "$WORK/untyped_p.lua"
assert_eq "$code" 3 "check: a declaration without a type exits 3"
assert_contains "$out" "params.fast: the declaration has no type; add type = \"integer\" (the type of its default, 10)" \
  "and says which type to add"

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
# --- lists from the command line: --param PATH=[a,b,c] ---------------------------------------
cat > "$WORK/listed.lua" <<'LUA'
local M = {}
M.params = { only = { type = "list", of = "string", default = { "AAPL", "TSLA" },
                      one_of = { "AAPL", "TSLA" } } }
function M.on_bar(ctx, bar)
  local listed = false
  for _, s in ipairs(ctx.params.only) do listed = listed or s == ctx.symbol end
  if not listed or ctx.state.done then return nil end
  ctx.state.done = true
  return { side = "buy", stop_loss = bar.close * 0.9, take_profit = bar.close * 1.1, reason = "listed" }
end
return M
LUA
sed "s#$WORK/typo_cb.lua#$WORK/listed.lua#" "$WORK/cb.lua" > "$WORK/listed_pipeline.lua"
syms() { sq "$1" "SELECT group_concat(symbol, ',') FROM (SELECT DISTINCT symbol FROM executions ORDER BY symbol)"; }
run "$APEX_HOST" backtest --quiet --db "$WORK/l_all.db" "$WORK/listed_pipeline.lua"
assert_eq "$code" 0 "the listing strategy with its default list"
assert_eq "$(syms "$WORK/l_all.db")" "AAPL,TSLA" "by default it enters both symbols"
run "$APEX_HOST" backtest --quiet --db "$WORK/l_tsla.db" --param 'strategy.only=[TSLA]' "$WORK/listed_pipeline.lua"
assert_eq "$code" 0 "--param strategy.only=[TSLA]"
assert_eq "$(syms "$WORK/l_tsla.db")" "TSLA" "a list parameter from --param: only TSLA is entered"
run "$APEX_HOST" backtest --quiet --db "$WORK/l_one.db" --param strategy.only=AAPL "$WORK/listed_pipeline.lua"
assert_eq "$(syms "$WORK/l_one.db")" "AAPL" "one value for a list parameter is a list of one"
run "$APEX_HOST" backtest --quiet --db "$WORK/l_sym.db" --param 'symbols=[ AAPL ]' "$WORK/listed_pipeline.lua"
assert_eq "$code" 0 "--param 'symbols=[ AAPL ]' (a pipeline field's list)"
assert_eq "$(syms "$WORK/l_sym.db")" "AAPL" "the pipeline trades only AAPL"
run "$APEX_HOST" check --param 'strategy.only=[TSLA,5]' "$WORK/listed_pipeline.lua"
assert_eq "$code" 3 "a number in a list of strings exits 3"
assert_contains "$out" "--param strategy.only=[TSLA,5]: strategy: listed.lua: params.only[2]: expected a string, got number 5 (a list of strings: { ... } in the pipeline file, [a,b,c] with --param)" "the element, its type and how to write the list"
run "$APEX_HOST" check --param 'strategy.only=[TSLA,MSFT]' "$WORK/listed_pipeline.lua"
assert_contains "$out" "params.only[2]: must be one of \"AAPL\", \"TSLA\", got \"MSFT\"" "one_of applies to each element"
run "$APEX_HOST" check --param 'monitoring.retry_backoff=[5,x]' "$P"
assert_eq "$code" 3 "a word in a list of whole numbers exits 3"
assert_contains "$out" "--param monitoring.retry_backoff=[5,x]: monitoring.retry_backoff[2]: expected a whole number of seconds, got string; write monitoring.retry_backoff=[v1,v2,...] with each value a whole number of seconds" "a pipeline list's element names the --param and what to write"
run "$APEX_HOST" check --param 'symbols=[AAPL' "$P"
assert_contains "$out" "--param symbols=[AAPL: symbols: '[AAPL' starts a list but does not end with ']'; write symbols=[a,b,c]" "an unclosed list"
run "$APEX_HOST" check --param 'symbols=[AAPL,,TSLA]' "$P"
assert_contains "$out" "symbols: element 2 is empty" "an empty element"
# --- a bias and a strategy sharing a parameter name: the bad one's own line -----------------
cat > "$WORK/periodic.lua" <<'LUA'
local M = {}
M.params = { period = { type = "integer", default = 20, min = 5, max = 500 } }
function M.on_bar(ctx, bar) return nil end
return M
LUA
cat > "$WORK/shared_bad_strategy.lua" <<LUA
-- period = 1 here is a comment, not a field
return apex.pipeline {
    name = "shared",
    symbols = { "AAPL" },
    data = { files = { "$WORK/data/bars.csv" } },
    bias = { file = "$APEX_SOURCE_DIR/strategies/trend_bias.lua", params = { period = 50 } },
    strategy = {
        file = "$WORK/periodic.lua",
        params = { period = 3 },
    },
}
LUA
run "$APEX_HOST" check "$WORK/shared_bad_strategy.lua"
assert_eq "$code" 3 "the strategy's period = 3 (its min is 5) exits 3"
assert_contains "$out" "$WORK/shared_bad_strategy.lua:9: strategy: periodic.lua: params.period: must be from 5 to 500, got 3" "the strategy's line, not the bias's (line 6) nor the comment's"
cat > "$WORK/shared_bad_bias.lua" <<LUA
return apex.pipeline {
    name = "shared",
    symbols = { "AAPL" },
    data = { files = { "$WORK/data/bars.csv" } },
    strategy = { file = "$WORK/periodic.lua", params = { period = 20 } },
    bias = {
        file = "$APEX_SOURCE_DIR/strategies/trend_bias.lua",
        params = {
            slope_bars = 10,
            ["period"] = 1,
        },
    },
}
LUA
run "$APEX_HOST" check "$WORK/shared_bad_bias.lua"
assert_eq "$code" 3 "the bias's period = 1 (its min is 2) exits 3"
assert_contains "$out" "$WORK/shared_bad_bias.lua:10: bias: trend_bias.lua: params.period: must be from 2 to 100000, got 1" "the bias's line, not the strategy's (line 5)"
# --- a hot reload merges the new params declaration; a value it refuses is blamed on its line ---
mkdir -p "$WORK/live"
printf 'timestamp,symbol,open,high,low,close,volume\n' > "$WORK/live/bars.csv"
cat > "$WORK/live/s.lua" <<'LUA'
local M = {}
M.params = { fast = { type = "integer", default = 10, min = 1, max = 50 } }
function M.on_bar(ctx, bar) end
return M
LUA
cat > "$WORK/live/p.lua" <<LUA
return apex.pipeline {
    name = "live", symbols = { "AAPL" },
    data = { files = { "$WORK/live/bars.csv" }, follow = true },
    strategy = {
        file = "$WORK/live/s.lua",
        params = { fast = 5 },
    },
}
LUA
"$APEX_HOST" run --db "$WORK/live.db" "$WORK/live/p.lua" > "$WORK/live.out" 2>&1 &
LPID=$!
for _ in $(seq 1 50); do grep -q "live" "$WORK/live.out" 2>/dev/null && break; sleep 0.1; done
sleep 0.5
events() { sq "$WORK/live.db" "SELECT count(*) FROM events WHERE kind='$1'" 2>/dev/null || echo 0; }
# a new parameter with a default: the reload succeeds
sed 's/max = 50 } }/max = 50 }, slow = { type = "integer", default = 30 } }/' "$WORK/live/s.lua" > "$WORK/live/s.tmp"
mv "$WORK/live/s.tmp" "$WORK/live/s.lua"
for _ in $(seq 1 100); do [ "$(events reload)" = 1 ] && break; sleep 0.1; done
# a range the pipeline's fast = 5 no longer fits: the reload fails, the old code runs on
sed 's/default = 10, min = 1, max = 50/default = 2, min = 1, max = 3/' "$WORK/live/s.lua" > "$WORK/live/s.tmp"
mv "$WORK/live/s.tmp" "$WORK/live/s.lua"
for _ in $(seq 1 100); do [ "$(events reload_error)" = 1 ] && break; sleep 0.1; done
kill -TERM $LPID; wait $LPID 2>/dev/null || true
assert_eq "$(events reload)" 1 "adding a parameter with a default reloads"
assert_eq "$(events reload_error)" 1 "a declaration refusing the pipeline's value fails the reload"
assert_contains "$(grep "RELOAD" "$WORK/live.out")" "s.lua failed: $WORK/live/p.lua:6: strategy: s.lua: params.fast: must be from 1 to 3, got 5 (kept the previous version running)" "the RELOAD line names the pipeline line, the parameter and the range"
finish
