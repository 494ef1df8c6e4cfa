# issue 13 item 6: `apex-host optimize --search halving` (successive halving): every
# candidate runs on the first third of the in-sample bars (Monday), the best third goes on
# to all of them (Monday to Wednesday), and the survivors get the out-of-sample half. The same seed gives the same
# table, the winner's numbers are a direct backtest's, and it costs fewer backtests than
# the grid over the same candidates.
source "$(dirname "$0")/lib.sh"
demo_setup
P="$WORK/pipelines/ma_trend.lua"
export TMPDIR="$WORK/tmp"
mkdir -p "$TMPDIR"
# 8 of the 12 sets, drawn with seed 7; in-sample Monday to Wednesday, out-of-sample after.
S=(--grid strategy.fast=5:20:5 --grid strategy.slow=30:50:10 --samples 8 --seed 7
   --split-at 2024-03-07 --metric net_pnl --min-trades 5 --jobs 2)
net_pnl() { sq "$1" "SELECT printf('%.2f', coalesce(sum(realized_pnl), 0) / 1e8) FROM executions WHERE status = 'completed'"; }
closed() { sq "$1" "SELECT count(*) FROM positions WHERE status = 'closed'"; }

# --- the same seed, the same table ---------------------------------------------------------------
run "$APEX_HOST" optimize "${S[@]}" --search halving --out "$WORK/h1.csv" --json "$WORK/h1.json" "$P"
assert_eq "$code" 0 "optimize --search halving"
rung_line=$(grep 'rung 1/2' <<<"$out" || true)
assert_contains "$rung_line" "optimize: rung 1/2, the first 1/3 of the in-sample bars (to 2024-03-04T20:59:00Z): 8 candidates, the best 2 go on (1 had fewer trades than --min-trades 5 and ranked last)" "stderr says what rung 1 ran on and kept"
run "$APEX_HOST" optimize "${S[@]}" --search halving --out "$WORK/h2.csv" --json "$WORK/h2.json" "$P"
if cmp -s "$WORK/h1.csv" "$WORK/h2.csv"; then pass "two runs with seed 7 give byte-identical CSV"; else fail "the tables differ: $(diff "$WORK/h1.csv" "$WORK/h2.csv")"; fi
strip='del(.elapsed_seconds, .backtests_per_minute, .max_concurrent) | .rows[] |= (del(.in_sample.started, .in_sample.ended, .out_of_sample.started, .out_of_sample.ended) | .rungs |= map(del(.started, .ended)))'
assert_eq "$(jq -S "$strip" "$WORK/h1.json")" "$(jq -S "$strip" "$WORK/h2.json")" "and the same JSON, timings aside"

# --- every candidate, the rung it reached, its metric per rung -----------------------------------
assert_eq "$(head -1 "$WORK/h1.csv")" "rank,strategy.fast,strategy.slow,rung,r1_net_pnl,r1_trades,is_trades,is_net_pnl,oos_trades,oos_net_pnl,rejected" "the CSV header: a column per rung"
assert_eq "$(tail -n +2 "$WORK/h1.csv" | wc -l)" 8 "one row per candidate"
assert_eq "$(jq -r '[.rows[] | .rung] | map(tostring) | join(" ")' "$WORK/h1.json")" "2 2 1 1 1 1 1 1" "2 reached the last rung, 6 stopped at rung 1"
assert_eq "$(jq -c '[.rungs[] | [.fraction, .candidates, .kept]]' "$WORK/h1.json")" '[["1/3",8,2],["1/1",2,2]]' "the rungs: 8 on a third of the bars, 2 on all of them"
while IFS=, read -r rank fast slow rung r1 r1_trades is_trades is_pnl oos_trades oos_pnl rejected; do
  if [ "$rung" == 2 ]; then
    assert_eq "$rejected|${is_trades:+x}|${oos_trades:+x}" "|x|x" "$fast/$slow: on the last rung, with in- and out-of-sample results"
  else
    assert_eq "$rank|$rejected|$is_trades$is_pnl$oos_trades$oos_pnl" "-|eliminated at rung 1|" "$fast/$slow: eliminated at rung 1, no full-range run"
  fi
done < <(tail -n +2 "$WORK/h1.csv")
# The cut: among the candidates with --min-trades 5 on rung 1, the kept ones have the best
# rung-1 net P&L; one with fewer trades ranks last whatever its P&L.
kept_min=$(awk -F, 'NR > 1 && $4 == 2 { print $5 }' "$WORK/h1.csv" | sort -g | head -1)
out_max=$(awk -F, 'NR > 1 && $4 == 1 && $6 >= 5 { print $5 }' "$WORK/h1.csv" | sort -g | tail -1)
if awk -v a="$kept_min" -v b="$out_max" 'BEGIN { exit !(a >= b) }'; then pass "the kept candidates had the best rung-1 P&L ($kept_min >= $out_max)"; else fail "the cut kept $kept_min below $out_max"; fi
few=$(awk -F, 'NR > 1 && $6 < 5 { print $2 "/" $3 ":" $4 ":" $5 }' "$WORK/h1.csv")
assert_eq "$few" "20/50:1:250.56" "20/50 made the best rung-1 P&L with 4 trades (< --min-trades 5), so it ranked last and stopped"

# --- the winner is what a direct backtest of its parameters gives over the same range -------------
IFS=, read -r rank fast slow rung r1 r1_trades is_trades is_pnl oos_trades oos_pnl rejected < <(sed -n 2p "$WORK/h1.csv")
assert_eq "$rank" 1 "the first row is ranked 1"
assert_eq "$(jq -r '.rows[0].in_sample.net_pnl' "$WORK/h1.json")" "$is_pnl" "JSON and CSV agree on the winner"
run "$APEX_HOST" backtest --db "$WORK/win.db" --to 2024-03-06T23:59:59Z --param strategy.fast="$fast" --param strategy.slow="$slow" "$P"
assert_eq "$code" 0 "a direct backtest of the winner over the in-sample range"
assert_eq "$(net_pnl "$WORK/win.db")" "$is_pnl" "the winner's final-rung net P&L is the direct backtest's"
assert_eq "$(closed "$WORK/win.db")" "$is_trades" "and so are its trades"
assert_contains "$out" "realized P&L $is_pnl" "the direct backtest's summary prints the same net P&L"
# A rung's number is a backtest over the range the JSON names for it.
r1_to=$(jq -r '.rungs[0].to' "$WORK/h1.json")
run "$APEX_HOST" backtest --quiet --db "$WORK/r1.db" --to "$r1_to" --param strategy.fast="$fast" --param strategy.slow="$slow" "$P"
assert_eq "$(net_pnl "$WORK/r1.db")|$(closed "$WORK/r1.db")" "$r1|$r1_trades" "the winner's rung-1 cells are a direct backtest --to $r1_to"

# --- fewer backtests than the grid over the same candidates --------------------------------------
run "$APEX_HOST" optimize "${S[@]}" --search random --out "$WORK/g.csv" --json "$WORK/g.json" "$P"
assert_eq "$code" 0 "the same 8 candidates as a plain random search"
assert_eq "$(tail -n +2 "$WORK/g.csv" | cut -d, -f2,3 | sort)" "$(tail -n +2 "$WORK/h1.csv" | cut -d, -f2,3 | sort)" "both searched the same 8 sets"
assert_eq "$(jq .backtests "$WORK/g.json")" 16 "the grid: 8 in-sample and 8 out-of-sample backtests"
assert_eq "$(jq .backtests "$WORK/h1.json")" 12 "halving: 8 on rung 1, 2 on the whole in-sample range, 2 out-of-sample"
assert_eq "$(jq '.in_sample_budget * 1000 | round' "$WORK/h1.json")|$(jq .in_sample_budget "$WORK/g.json")" "4667|8" "in-sample work: 4.67 full-range backtests against 8"

# --- a rung too short to rank anyone decides nothing -----------------------------------------------
# One trading day gives one daily return: no Sharpe ratio for anyone on rung 1.
run "$APEX_HOST" optimize --grid strategy.fast=5,10,15 --grid strategy.slow=40 --search halving --rungs 2 --split-at 2024-03-07 --jobs 2 --out "$WORK/short.csv" --json "$WORK/short.json" "$P"
assert_eq "$code" 0 "halving with a rung too short for a Sharpe ratio"
assert_contains "$out" "optimize: rung 1/2, the first 1/3 of the in-sample bars (to 2024-03-04T20:59:00Z): no candidate can be ranked on it (none made 1 trade and a defined sharpe), so the rung decides nothing: all 3 go on" "stderr says the rung decided nothing"
assert_eq "$(jq -c '[.rungs[0].decided, .rungs[0].kept, .rungs[1].candidates]' "$WORK/short.json")" "[false,3,3]" "all 3 went on to the last rung"
assert_eq "$(tail -n +2 "$WORK/short.csv" | cut -d, -f1,4 | tr '\n' ' ')" "1,2 2,2 3,2 " "and all 3 are ranked there"

# --- mistakes ---------------------------------------------------------------------------------------
run "$APEX_HOST" optimize --grid strategy.fast=5,10,15 --search halving --rungs 3 "$P"
assert_eq "$code" 2 "more rungs than the candidates allow exits 2"
assert_contains "$out" "--rungs 3: 3 sets allow at most 2 rungs with --eta 3" "and says how many they allow"
run "$APEX_HOST" optimize --grid strategy.fast=5,10,15 --eta 2 "$P"
assert_contains "$out" "--eta and --rungs belong to --search halving" "--eta without halving is refused"
run "$APEX_HOST" optimize --grid strategy.fast=5,10,15 --search annealing "$P"
assert_contains "$out" "--search annealing: expected grid, random or halving" "an unknown search is named"
assert_eq "$(ls -A "$TMPDIR")" "" "no temporary store left behind"

finish
