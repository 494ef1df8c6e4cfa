# issue 13 item 6: `apex-host optimize` backtests a grid of declared strategy parameters in
# child processes, ranks the sets and writes the same table on every run.
source "$(dirname "$0")/lib.sh"
demo_setup
P="$WORK/pipelines/ma_trend.lua"
# The children's temporary stores go under TMPDIR; none may be left behind.
export TMPDIR="$WORK/tmp"
mkdir -p "$TMPDIR"
GRID=(--grid strategy.fast=5:10:5 --grid strategy.slow=20,30)

# --- the same command, the same table ---------------------------------------------------------
run "$APEX_HOST" optimize "${GRID[@]}" --jobs 2 --out "$WORK/a.csv" --json "$WORK/a.json" "$P"
assert_eq "$code" 0 "optimize a 2x2 grid on 2 processes"
run "$APEX_HOST" optimize "${GRID[@]}" --jobs 2 --out "$WORK/b.csv" "$P"
assert_eq "$code" 0 "the same grid again"
if cmp -s "$WORK/a.csv" "$WORK/b.csv"; then pass "two runs give byte-identical CSV"; else fail "the tables differ: $(diff "$WORK/a.csv" "$WORK/b.csv")"; fi
assert_eq "$(head -1 "$WORK/a.csv")" "rank,strategy.fast,strategy.slow,is_sharpe,is_trades,is_net_pnl,rejected" "the CSV header"
assert_eq "$(tail -n +2 "$WORK/a.csv" | wc -l)" 4 "one row per set"
assert_eq "$(tail -n +2 "$WORK/a.csv" | cut -d, -f2,3 | sort | tr '\n' ' ')" "10,20 10,30 5,20 5,30 " "every set of the grid is there"
sharpes=$(tail -n +2 "$WORK/a.csv" | cut -d, -f4)
if [ "$sharpes" == "$(sort -gr <<<"$sharpes")" ]; then pass "rows ranked by Sharpe, highest first"; else fail "not ranked: $sharpes"; fi
assert_eq "$(jq '[.rows[].params["strategy.fast"]] | length' "$WORK/a.json")" 4 "the JSON has the 4 rows"
assert_eq "$(jq -r '.rows[0].in_sample.net_pnl' "$WORK/a.json")" "$(sed -n 2p "$WORK/a.csv" | cut -d, -f6)" "JSON and CSV agree on the best row"

# --- the best row is what a direct backtest of its parameters gives ----------------------------
IFS=, read -r rank fast slow sharpe trades pnl rejected < <(sed -n 2p "$WORK/a.csv")
assert_eq "$rank" 1 "the first row is ranked 1"
run "$APEX_HOST" backtest --db "$WORK/best.db" --param strategy.fast="$fast" --param strategy.slow="$slow" "$P"
assert_eq "$code" 0 "a direct backtest of the best set"
direct_pnl=$(sq "$WORK/best.db" "SELECT printf('%.2f', sum(realized_pnl) / 1e8) FROM executions WHERE status = 'completed'")
direct_trades=$(sq "$WORK/best.db" "SELECT count(*) FROM positions WHERE status = 'closed'")
assert_eq "$pnl" "$direct_pnl" "the best row's net P&L is the direct backtest's sum of realized P&L"
assert_eq "$trades" "$direct_trades" "the best row's trades are the direct backtest's closed positions"
assert_contains "$out" "Sharpe $(printf '%.2f' "$sharpe")" "the best row's Sharpe is the direct backtest summary's"

# --- two backtests ran at once ------------------------------------------------------------------
assert_eq "$(jq .max_concurrent "$WORK/a.json")" 2 "at most 2 children at once, and 2 were"
overlap=$(jq '[.rows[].in_sample] | sort_by(.started) | .[0].ended > .[1].started' "$WORK/a.json")
assert_eq "$overlap" true "the second backtest started before the first one ended"

# --- in-sample and out-of-sample, a minimum trade count -----------------------------------------
run "$APEX_HOST" optimize "${GRID[@]}" --split-at 2024-03-07 --min-trades 15 --metric net_pnl --out "$WORK/s.csv" "$P"
assert_eq "$code" 0 "optimize --split-at"
assert_eq "$(head -1 "$WORK/s.csv")" "rank,strategy.fast,strategy.slow,is_trades,is_net_pnl,oos_trades,oos_net_pnl,rejected" "both halves in the header"
IFS=, read -r rank fast slow is_trades is_pnl oos_trades oos_pnl rejected < <(sed -n 2p "$WORK/s.csv")
run "$APEX_HOST" backtest --quiet --db "$WORK/is.db" --to 2024-03-06 --param strategy.fast="$fast" --param strategy.slow="$slow" "$P"
assert_eq "$is_pnl" "$(sq "$WORK/is.db" "SELECT printf('%.2f', sum(realized_pnl) / 1e8) FROM executions WHERE status = 'completed'")" "in-sample: the data before 2024-03-07"
run "$APEX_HOST" backtest --quiet --db "$WORK/oos.db" --from 2024-03-07 --param strategy.fast="$fast" --param strategy.slow="$slow" "$P"
assert_eq "$oos_pnl" "$(sq "$WORK/oos.db" "SELECT printf('%.2f', sum(realized_pnl) / 1e8) FROM executions WHERE status = 'completed'")" "out-of-sample: the data from 2024-03-07"
while IFS=, read -r rank fast slow is_trades is_pnl oos_trades oos_pnl rejected; do
  if [ "$is_trades" -lt 15 ] || [ "$oos_trades" -lt 15 ]; then
    assert_eq "$rank|${rejected:0:13}" "-|${rejected:0:13}" "fast=$fast slow=$slow: under 15 trades is not ranked"
    assert_contains "$rejected" "trades < --min-trades" "and says why"
  else
    assert_eq "$rejected" "" "fast=$fast slow=$slow: enough trades, ranked $rank"
  fi
done < <(tail -n +2 "$WORK/s.csv")

# --- a seeded random sample -------------------------------------------------------------------
R=(--grid strategy.fast=5:20:5 --grid strategy.slow=30:60:10 --random 3 --seed 7 --jobs 2)
run "$APEX_HOST" optimize "${R[@]}" --out "$WORK/r1.csv" "$P"
run "$APEX_HOST" optimize "${R[@]}" --out "$WORK/r2.csv" "$P"
assert_eq "$(tail -n +2 "$WORK/r1.csv" | wc -l)" 3 "--random 3 runs 3 of the 16 sets"
if cmp -s "$WORK/r1.csv" "$WORK/r2.csv"; then pass "the same seed draws the same sets"; else fail "seeded draws differ"; fi

# --- SIGTERM stops the search and leaves nothing behind -----------------------------------------
"$APEX_HOST" optimize --grid strategy.fast=2:60:1 --grid strategy.slow=61:100:1 --jobs 2 --out "$WORK/never.csv" "$P" 2> "$WORK/term.err" &
opt_pid=$!
kill_at_exit "$opt_pid"
for _ in $(seq 200); do compgen -G "$TMPDIR/apex-optimize.*/run1.log" >/dev/null && break; sleep 0.05; done
kill -TERM "$opt_pid"
set +e; wait "$opt_pid"; code=$?; set -e
assert_eq "$code" 5 "SIGTERM: optimize exits 5 (interrupted)"
assert_contains "$(cat "$WORK/term.err")" "interrupted after" "and says how far it got"
assert_eq "$(ls -A "$TMPDIR")" "" "the children stopped and their stores are removed"
if [ -e "$WORK/never.csv" ]; then fail "an interrupted search wrote a table"; else pass "no table from an interrupted search"; fi

# --- mistakes -----------------------------------------------------------------------------------
run "$APEX_HOST" optimize --grid strategy.fats=5,10 "$P"
assert_eq "$code" 2 "an undeclared --grid parameter exits 2"
assert_contains "$out" "params.fats: the strategy declares no such parameter; did you mean 'fast'?" "and names it"
assert_eq "$(ls -A "$TMPDIR")" "" "no temporary store left behind, after success or a refusal"
run "$APEX_HOST" optimize --grid strategy.fast=20:5:5 "$P"
assert_eq "$code" 2 "a range that runs backwards is a command-line error"
assert_contains "$out" "--grid strategy.fast=20:5:5: expected FROM:TO:STEP" "and is named"
run "$APEX_HOST" optimize --grid strategy.fast=5 --metric calmar "$P"
assert_contains "$out" "--metric calmar: expected sharpe, total_return, profit_factor or net_pnl" "an unknown metric is named"

finish
