# `apex-host new strategy NAME` (issue 13): the strategy and pipeline it writes pass
# `check` and backtest as written, from another directory, with trades in the store; its
# declared params take --param; an existing file, a bad NAME and a missing --data are
# refused with what to do.
source "$(dirname "$0")/lib.sh"
"$APEX_DATAGEN" "$WORK/data" > /dev/null
mkdir "$WORK/mine"
cd "$WORK"
out=$("$APEX_HOST" new strategy my_cross --dir mine --data data/bars.csv)
assert_contains "$out" "wrote mine/my_cross.lua" "it writes the strategy"
assert_contains "$out" "wrote mine/my_cross.pipeline.lua" "and its pipeline"
cd /
out=$("$APEX_HOST" check "$WORK/mine/my_cross.pipeline.lua" 2>&1) && code=0 || code=$?
assert_eq "$code" "0" "the pipeline passes check"
assert_contains "$out" "ok: pipeline 'my_cross', 2 symbol(s)" "naming the pipeline"
"$APEX_HOST" backtest --quiet --db "$WORK/a.db" "$WORK/mine/my_cross.pipeline.lua" > "$WORK/a.out"
trades=$(sq "$WORK/a.db" "SELECT count(*) FROM executions WHERE status = 'completed'")
[ "$trades" -gt 0 ] && pass "it backtests: $trades completed trades" || fail "no trade: $(cat "$WORK/a.out")"
assert_contains "$(cat "$WORK/a.out")" "trades $trades " "the summary counts the store's trades"
"$APEX_HOST" backtest --quiet --db "$WORK/b.db" --param strategy.fast=5 "$WORK/mine/my_cross.pipeline.lua" > /dev/null
[ "$(sq "$WORK/b.db" "SELECT count(*) FROM executions")" != "$(sq "$WORK/a.db" "SELECT count(*) FROM executions")" ] &&
  pass "its declared params take --param strategy.fast=5" || fail "--param strategy.fast=5 changed nothing"
set +e
out=$("$APEX_HOST" backtest --quiet --db "$WORK/c.db" --param strategy.fats=5 "$WORK/mine/my_cross.pipeline.lua" 2>&1); code=$?
set -e
assert_contains "$out" "did you mean 'fast'?" "a misspelled param is refused with the declared name"
cd "$WORK"
set +e
out=$("$APEX_HOST" new strategy my_cross --dir mine --data data/bars.csv 2>&1); code=$?
set -e
assert_eq "$code" "2" "a second new over the same NAME exits 2"
assert_contains "$out" "mine/my_cross.lua exists already" "and overwrites nothing"
set +e
out=$("$APEX_HOST" new strategy My-Cross 2>&1); code=$?
set -e
assert_eq "$code" "2" "a bad NAME exits 2"
set +e
out=$("$APEX_HOST" new strategy other --data nowhere.csv 2>&1); code=$?
set -e
assert_eq "$code" "2" "a missing --data exits 2"
assert_contains "$out" "apex-datagen data/demo" "saying how to make data"
[ ! -e other.lua ] && pass "and writes nothing" || fail "other.lua was written"
finish
