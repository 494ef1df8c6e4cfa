#!/usr/bin/env bash
# Backtest throughput and peak memory, whole process, on generated data.
#   bench/run.sh [BARS] [SYMBOLS]      (defaults 1000000 bars over 50 symbols)
# Prints one line per case; copy the figures into docs/performance.md with the machine.
# Cases run in the same invocation so their ratios are comparable on a noisy machine.
set -euo pipefail
cd "$(dirname "$0")/.."
BARS=${1:-1000000}
SYMS=${2:-50}
BUILD=${BUILD:-build}
OUT=bench/out
mkdir -p "$OUT"
[ -x "$BUILD/apex-host" ] || { echo "build first: make build" >&2; exit 1; }

if [ ! -f "$OUT/bars-$BARS-$SYMS.csv" ]; then
  "$BUILD/apex-datagen" --bars "$BARS" --symbols "$SYMS" "$OUT/gen" >/dev/null
  mv "$OUT/gen/bars.csv" "$OUT/bars-$BARS-$SYMS.csv"
fi
DATA="$PWD/$OUT/bars-$BARS-$SYMS.csv"
symbols=$(awk -F, -v n=$((SYMS * 4 + 1)) 'NR>1 && NR<=n {print $2}' "$DATA" | sort -u | sed 's/.*/"&"/' | paste -sd, -)

# Case 1: a strategy that does nothing (host overhead: feed, broker, Lua call per bar).
cat > "$OUT/noop.lua" <<'LUA'
return { on_bar = function(ctx, bar) end }
LUA
# Case 2: the demo's moving-average crossover with the trend bias (two Lua calls per bar,
# three indicators, real trades).
pipeline() { # name strategy bias
  cat > "$OUT/$1.pipeline.lua" <<LUA
return apex.pipeline {
  name = "$1", symbols = { $symbols },
  data = { files = { "$DATA" } },
  strategy = "$2", $3
  risk = { max_positions = 1000, max_position_pct = 0.01 },
}
LUA
}
pipeline noop "$PWD/$OUT/noop.lua" ""
pipeline ma_trend "$PWD/strategies/ma_cross.lua" "bias = \"$PWD/strategies/trend_bias.lua\","

measure() { # label pipeline [db]
  local db=${3:-:memory:}
  rm -f "$db" "$db-wal" "$db-shm"
  /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$BUILD/apex-host" backtest --quiet --db "$db" "$2" > "$OUT/$1.out"
  read -r secs rss < "$OUT/time.txt"
  awk -v l="$1" -v b="$BARS" -v s="$secs" -v r="$rss" 'BEGIN {
    printf "%-28s %9d bars  %7.2f s  %10.0f bars/s  peak RSS %6.1f MB\n", l, b, s, (s > 0 ? b / s : 0), r / 1024 }'
  grep -E "trades|processed" "$OUT/$1.out" | sed 's/^/    /'
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
measure "backtest noop strategy" "$OUT/noop.pipeline.lua"
measure "backtest ma_cross+trend" "$OUT/ma_trend.pipeline.lua"
measure "  same, store in a file" "$OUT/ma_trend.pipeline.lua" "$OUT/bench.db"
# Case 3: the Lua cost alone: ma_cross plus a bias that keeps an EMA(50) current on
# every bar, as trend_bias does, but vetoes every entry, so nothing trades.
cat > "$OUT/veto_bias.lua" <<'LUA'
local ta = require "apex.ta"
return {
  on_start = function(ctx) ctx.state.ema = ta.ema(50) end,
  on_bar = function(ctx, bar) ctx.state.ema:update(bar.close) end,
  bias = function(ctx) return "short" end,
}
LUA
pipeline notrade "$PWD/strategies/ma_cross.lua" "bias = \"$PWD/$OUT/veto_bias.lua\","
measure "backtest ma_cross+EMA bias, no trades" "$OUT/notrade.pipeline.lua"

# Case 4 (issue 3): 10,000 open positions monitored. 1,000,000 bars over 10,000 symbols
# (100 one-minute bars each); the strategy buys one share of every symbol on its second
# bar with far stops, so 10,000 positions are open and checked every 30 s (price cache,
# batched quotes, the exit evaluator) for the rest of the run.
if [ "${POSITIONS:-1}" = "1" ]; then
  PDATA="$OUT/bars-1000000-10000.csv"
  if [ ! -f "$PDATA" ]; then
    "$BUILD/apex-datagen" --bars 1000000 --symbols 10000 "$OUT/gen" >/dev/null
    mv "$OUT/gen/bars.csv" "$PDATA"
  fi
  psymbols=$(awk -F, 'NR>1 && NR<=10001 {print $2}' "$PDATA" | sort -u | sed 's/.*/"&"/' | paste -sd, -)
  cat > "$OUT/hold.lua" <<'LUA'
return { on_bar = function(ctx, bar)
  ctx.state.n = (ctx.state.n or 0) + 1
  if ctx.state.n == 2 then
    return { side = "buy", qty = 1, stop_loss = bar.close * 0.5, take_profit = bar.close * 3 }
  end
end }
LUA
  cat > "$OUT/positions.pipeline.lua" <<LUA
return apex.pipeline {
  name = "positions", symbols = { $psymbols },
  data = { files = { "$PWD/$PDATA" } },
  strategy = "$PWD/$OUT/hold.lua",
  broker = { starting_cash = 100000000 },
  risk = { max_positions = 20000, max_position_pct = 0.001, max_risk_pct = 0.001 },
  exits = { partial_exits = { enabled = false } },
  monitoring = { max_api_calls_per_minute = 100000 },
}
LUA
  measure "backtest, 10,000 positions monitored" "$OUT/positions.pipeline.lua" "$OUT/positions.db"
fi
