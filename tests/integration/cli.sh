# The command line: help for every command, usage errors, status, exit codes.
source "$(dirname "$0")/lib.sh"
for c in run backtest check status version; do
  out=$("$APEX_HOST" $c --help)
  assert_contains "$out" "usage: apex-host $c" "$c --help"
done
out=$("$APEX_HOST" --help); assert_contains "$out" "exit codes" "main help lists exit codes"
set +e
"$APEX_HOST" frobnicate >/dev/null 2>&1; assert_eq "$?" "2" "unknown command exits 2"
"$APEX_HOST" run --speed fast x.lua >/dev/null 2>&1; assert_eq "$?" "2" "bad --speed exits 2"
"$APEX_HOST" status --db "$WORK/none.db" >/dev/null 2>&1; assert_eq "$?" "4" "status on a missing store exits 4"
set -e
demo_setup
"$APEX_HOST" backtest --quiet --db "$WORK/s.db" "$WORK/pipelines/ma_trend.lua" >/dev/null
out=$("$APEX_HOST" status --db "$WORK/s.db")
assert_contains "$out" "EXECUTIONS" "status shows executions"
assert_contains "$out" "ma-trend" "status names the pipeline"
# --max-seconds is a wall-time limit, whatever the data: real-time replay of five days
# stops after 2 s with the summary.
start=$(date +%s)
out=$("$APEX_HOST" run --speed 1 --max-seconds 2 --db "$WORK/m.db" "$WORK/pipelines/ma_trend.lua" 2>&1)
elapsed=$(( $(date +%s) - start ))
assert_contains "$out" "time limit of 2 s reached" "--max-seconds stops the run"
[ "$elapsed" -lt 15 ] && pass "it stopped promptly (${elapsed}s)" || fail "took ${elapsed}s"
finish
