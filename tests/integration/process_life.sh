# Issue 7.5: every way a run stops ends the process with the documented code; SIGINT
# stops a backtest cleanly; backtests keep their results and never replace a live store;
# two processes never share a store.
source "$(dirname "$0")/lib.sh"
demo_setup
P="$WORK/pipelines/ma_trend.lua"
cd "$WORK"

# A data error in `run` stops the process (it used to idle in the loop forever).
head -2000 "$WORK/data/bars.csv" > bad.csv
echo "2024-03-04T20:00:00Z,AAPL,abc,1,1,1,1" >> bad.csv
sed -n "2001,2500p" "$WORK/data/bars.csv" >> bad.csv
sed "s#$WORK/data/bars.csv#$WORK/bad.csv#" "$P" > bad.lua
set +e
timeout 60 "$APEX_HOST" run --speed 4000 --db bad.db bad.lua > bad.out 2> bad.err
code=$?
set -e
assert_eq "$code" "1" "run stops on a malformed row with exit code 1 (not a hang: 124)"
assert_contains "$(cat bad.err)" "bad.csv:2001" "the error names the file and line"

# A backtest by default writes a new store under results/ and says where.
"$APEX_HOST" backtest --quiet "$P" > bt1.out 2>&1
"$APEX_HOST" backtest --quiet "$P" > bt2.out 2>&1
n=$(ls results/*.db | wc -l)
assert_eq "$n" "2" "two backtests keep two result stores"
first=$(ls results/*.db | head -1)
assert_contains "$(cat bt1.out bt2.out)" "results/ma_trend-" "the summary names the results file"
assert_eq "$(sq "$first" "SELECT value FROM meta WHERE key='run_state'")" "complete" "a finished backtest is marked complete"

# A backtest refuses to replace a store that `run` wrote, unless forced.
"$APEX_HOST" run --speed 100000 --max-seconds 3 --db live.db "$P" > live.out 2>&1 || true
before=$(sq live.db "SELECT count(*) FROM executions")
set +e
"$APEX_HOST" backtest --quiet --db live.db "$P" > refuse.out 2>&1
code=$?
set -e
assert_eq "$code" "4" "backtest --db on a live store is refused with exit code 4"
assert_contains "$(cat refuse.out)" "--force" "the refusal says how to override"
assert_eq "$(sq live.db "SELECT count(*) FROM executions")" "$before" "the live store is untouched"
[ -n "$(ls live.db.*.paper 2>/dev/null)" ] && pass "the live paper account is still there" || fail "the live paper account was deleted"

# Two processes on one store: the second is refused while the first runs.
"$APEX_HOST" run --speed 50 --db shared.db "$P" > first.out 2>&1 &
pid=$!
for _ in $(seq 1 200); do # until the first process holds the store (slow starts under load)
  [ "$(cat shared.db.lock 2>/dev/null)" = "$pid" ] && break
  sleep 0.05
done
set +e
"$APEX_HOST" run --speed 50 --db shared.db "$P" > second.out 2>&1
code=$?
set -e
assert_eq "$code" "4" "a second process on the same store is refused"
assert_contains "$(cat second.out)" "in use by another apex-host process (pid $pid)" "the refusal names the other process"

# SIGINT on a run: a clean stop (exit 0, summary); a second SIGINT is not needed.
kill -INT $pid
set +e; wait $pid; code=$?; set -e
assert_eq "$code" "0" "SIGINT stops a run with exit code 0"
assert_contains "$(cat first.out)" "summary" "the stopped run prints its summary"

# SIGINT during a long backtest: stops cleanly with the summary, exit 5, marked interrupted.
"$APEX_DATAGEN" --bars 200000 --symbols 4 big >/dev/null
cat > slow.lua <<'LUA'
local M = {}
function M.on_bar(ctx, bar)
  local x = 0
  for i = 1, 20000 do x = x + i end -- a slow strategy: the backtest takes minutes
end
return M
LUA
cat > big.lua <<LUA
return apex.pipeline {
  name = 'big', symbols = { 'SYM000', 'SYM001', 'SYM002', 'SYM003' },
  data = { files = { '$WORK/big/bars.csv' } },
  strategy = 'slow.lua',
}
LUA
"$APEX_HOST" backtest --db int.db big.lua > int.out 2>&1 &
pid=$!
sleep 2
kill -INT $pid
set +e; wait $pid; code=$?; set -e
assert_eq "$code" "5" "an interrupted backtest exits 5"
assert_contains "$(cat int.out)" "summary" "the interrupted backtest prints the summary of what ran"
assert_eq "$(sq int.db "SELECT value FROM meta WHERE key='run_state'")" "interrupted" "its store is marked interrupted"
finish
