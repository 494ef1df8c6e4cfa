#!/usr/bin/env bash
# The same SMA(10)/SMA(30) crossover in backtrader and in apex-host, on the same daily bars:
# both trade lists, whether they agree trade for trade, and each whole process's wall time
# and peak RSS, measured in the same run.
#
#   BACKTRADER=/path/to/backtrader bench/backtrader_compare.sh [DATA.csv]
#
# BACKTRADER: a backtrader checkout (the directory holding the `backtrader` package;
# backtrader is pure Python and not a dependency of apex-host, so bring your own, e.g.
# `git clone https://github.com/mementum/backtrader`). DATA.csv: apex-host bars
# (timestamp,symbol,open,high,low,close,volume; timestamps "YYYY-MM-DD HH:MM:SS") of one
# symbol, daily. Default: R's TTR ttrc data set (5,550 daily bars, 1985-2006), written to
# bench/out/bt/ttrc.csv by Rscript (`make deps` installs R and TTR).
#
# The rules (bench/bt/sma_cross.lua, bench/bt/sma_cross_bt.py): long only, 100 shares; buy
# on the bar SMA10 crosses above SMA30, close on the bar it crosses below; market orders
# fill at the next bar's open; no commission, spread or slippage. backtrader 1.9 with its
# default broker; apex-host with broker.fill = "next_open" and every exit of its own
# switched off (stop and target out of reach, no trailing stop, partial exits, session
# close, liquidity, early exit, circuit breaker or PDT rule), so the strategy's close is
# the only way out. A backtest checks a position on each bar of its symbol, as backtrader
# looks at it once a bar. An end of data with a position open leaves it open on both sides.
#
# Measured on TTR's ttrc (2026-12-05): all 108 trades agree to the day and the cent, and
# apex-host runs in 0.10 s and 6.0 MB against backtrader's 1.84 s and 40.9 MB (figures in
# docs/performance.md). The fills a bar makes at its open are delivered before its on_bar,
# and a backtest completes a position its fills closed at once, so on_bar sees the state
# after that bar's fills, as backtrader's next() does.
#
# Exit status: 0 when both ran and the trade lists agree; 1 when they differ or a side
# failed (the reason is printed; the other side's figures are still printed).
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-python3}
OUT=bench/out/bt
mkdir -p "$OUT"

if [ -z "${BACKTRADER:-}" ] || [ ! -f "$BACKTRADER/backtrader/__init__.py" ]; then
  echo "set BACKTRADER to a backtrader checkout (the directory with backtrader/__init__.py)" >&2
  exit 2
fi
[ -x "$BUILD/apex-host" ] || { echo "build first: make build" >&2; exit 2; }

DATA=${1:-}
if [ -z "$DATA" ]; then
  DATA=$OUT/ttrc.csv
  if [ ! -s "$DATA" ]; then
    Rscript --vanilla -e '
      suppressPackageStartupMessages(library(TTR)); data(ttrc)
      out <- data.frame(timestamp = paste(format(ttrc$Date, "%Y-%m-%d"), "00:00:00"),
                        symbol = "TTRC", open = ttrc$Open, high = ttrc$High,
                        low = ttrc$Low, close = ttrc$Close, volume = ttrc$Volume)
      write.csv(out, commandArgs(TRUE)[1], row.names = FALSE, quote = FALSE)' "$DATA" ||
      { echo "cannot write ttrc with Rscript; install R and TTR (make deps) or pass DATA.csv" >&2; exit 2; }
  fi
fi
[ -s "$DATA" ] || { echo "$DATA: no such file" >&2; exit 2; }
DATA=$(realpath "$DATA")
SYMBOL=$(awk -F, 'NR == 2 {print $2; exit}' "$DATA")
BARS=$(($(grep -c . "$DATA") - 1))

cat > "$OUT/sma_cross.pipeline.lua" <<LUA
return apex.pipeline {
  name = "bt_sma_cross",
  symbols = { "$SYMBOL" },
  data = { files = { "$DATA" } },
  strategy = "$PWD/bench/bt/sma_cross.lua",
  broker = { starting_cash = 1000000, fill = "next_open", spread_bps = 0, slippage_bps = 0,
             fee_per_share = 0, fee_bps = 0, fee_min = 0 },
  risk = { max_positions = 1, max_position_pct = 1, max_risk_pct = 1,
           daily_loss_limit_pct = 1, pdt_check = false, allow_short = false },
  exits = {
    trailing_stop = { enabled = false },
    partial_exits = { enabled = false },
    time_urgent_minutes = 0,
    liquidity = { max_spread = 1000000, min_volume = 0 },
    early_exit_edge = 0,
  },
}
LUA

measure() { # label output-prefix command...
  local label=$1 prefix=$2
  shift 2
  /usr/bin/time -f "%e %M" -o "$prefix.time" "$@" > "$prefix.out" 2> "$prefix.err"
  local rc=$?
  if [ $rc -ne 0 ]; then
    echo "$label failed (exit $rc):"
    grep -v '^Command exited' "$prefix.err" | tail -5 | sed 's/^/    /'
    return 1
  fi
  read -r secs rss < <(tail -1 "$prefix.time")
  printf "%-12s %6d bars  %6.2f s wall  peak RSS %6.1f MB\n" "$label" "$BARS" "$secs" \
    "$(echo "$rss / 1024" | bc -l)"
}

echo "data: $DATA ($BARS bars of $SYMBOL)"
echo "backtrader: $BACKTRADER ($(PYTHONPATH=$BACKTRADER $PYTHON -c 'import backtrader; print(backtrader.__version__)'), $($PYTHON --version 2>&1))"
rm -f "$OUT/apex.db" "$OUT/apex.db-wal" "$OUT/apex.db-shm" "$OUT/bt_trades.csv"
apex_ok=0 bt_ok=0
measure "apex-host" "$OUT/apex" "$BUILD/apex-host" backtest --quiet --db "$OUT/apex.db" \
  "$OUT/sma_cross.pipeline.lua" && apex_ok=1
measure "backtrader" "$OUT/bt" env PYTHONPATH="$BACKTRADER" "$PYTHON" bench/bt/sma_cross_bt.py \
  "$DATA" "$OUT/bt_trades.csv" && bt_ok=1
if [ $apex_ok = 0 ] && grep -q 'fill\|close' "$OUT/apex.err"; then
  echo "    (this apex-host build may predate broker.fill = \"next_open\" or strategy closes" \
       "(on_bar returning { side = \"close\" }); the bench needs both)"
fi
[ $bt_ok = 1 ] && [ $apex_ok = 0 ] && { echo "backtrader's trades:"; cat "$OUT/bt_trades.csv"; }
[ $apex_ok = 1 ] && [ $bt_ok = 1 ] || exit 1
echo
$PYTHON bench/bt/compare.py "$OUT/apex.db" "$OUT/bt_trades.csv"
