#!/usr/bin/env bash
# The backtest speed targets of issue 9, in one invocation so their ratios compare on a
# noisy machine. Whole process, wall time and peak RSS from /usr/bin/time.
#   bench/targets.sh            every case (the 10,000-position case takes minutes)
#   CASES="daily minute" bench/targets.sh   a subset: daily minute noop positions
# Prints one line per case: bars, seconds, bars/s, peak RSS, and the run's trade count.
# The backtrader comparison (one daily series against backtrader 1.9) is its own script,
# bench/backtrader_compare.sh, because backtrader is not a dependency.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
OUT=bench/out
CASES=${CASES:-daily minute noop positions}
mkdir -p "$OUT"
[ -x "$BUILD/apex-host" ] || { echo "build first: make build" >&2; exit 1; }

gen() { # name args...: bench/out/<name>.csv from apex-datagen, once
  local name=$1
  shift
  if [ ! -f "$OUT/$name.csv" ]; then
    "$BUILD/apex-datagen" "$@" "$OUT/gen-$name" >/dev/null
    mv "$OUT/gen-$name/bars.csv" "$OUT/$name.csv"
    rmdir "$OUT/gen-$name" 2>/dev/null || true
  fi
}

symbols_of() { # csv count: the first <count> distinct symbols, quoted for Lua
  awk -F, -v n="$2" 'NR > 1 && !($2 in s) { s[$2]; print "\"" $2 "\""; if (++k == n) exit }' \
    "$1" | paste -sd, -
}

pipeline() { # file name data strategy extra
  cat > "$1" <<LUA
return apex.pipeline {
  name = "$2", symbols = { $(symbols_of "$3" 100000) },
  data = { files = { "$PWD/$3" } },
  strategy = "$4",
  $5
}
LUA
}

measure() { # label bars pipeline
  rm -f "$OUT/t.db" "$OUT/t.db-wal" "$OUT/t.db-shm"
  /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$BUILD/apex-host" backtest --quiet --db "$OUT/t.db" \
    "$3" > "$OUT/last.out" 2> "$OUT/last.err"
  read -r secs rss < "$OUT/time.txt"
  local trades
  trades=$(awk '/^  trades/ { print $2 }' "$OUT/last.out")
  awk -v l="$1" -v b="$2" -v s="$secs" -v r="$rss" -v t="$trades" 'BEGIN {
    printf "%-44s %9d bars %8.2f s %11.0f bars/s  peak RSS %6.1f MB  trades %s\n",
           l, b, s, (s > 0 ? b / s : 0), r / 1024, t }'
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"

for c in $CASES; do
  case $c in
  daily) # 500 symbols x 5,000 days, the SMA(10)/SMA(30) cross that closes its own trades
    gen daily-500x5000 --daily --bars 2500000 --symbols 500
    pipeline "$OUT/daily.pipeline.lua" daily "$OUT/daily-500x5000.csv" \
      "$PWD/strategies/ma_cross_exit.lua" \
      'risk = { max_positions = 500, max_position_pct = 0.002 }, monitoring = { max_api_calls_per_minute = 100000 },'
    measure "daily: SMA cross, 500 symbols x 5,000 days" 2500000 "$OUT/daily.pipeline.lua"
    ;;
  minute) # 200,000 one-minute bars over 50 symbols, ma_cross (about 3,800 trades)
    gen minute-200000x50 --bars 200000 --symbols 50
    pipeline "$OUT/minute.pipeline.lua" minute "$OUT/minute-200000x50.csv" \
      "$PWD/strategies/ma_cross.lua" 'risk = { max_positions = 1000, max_position_pct = 0.01 },'
    measure "minute: ma_cross, 200,000 bars x 50 symbols" 200000 "$OUT/minute.pipeline.lua"
    ;;
  noop) # a strategy that does nothing: the host's own cost per bar, Lua called every bar
    gen minute-1000000x50 --bars 1000000 --symbols 50
    echo 'return { on_bar = function(ctx, bar) end }' > "$OUT/noop.lua"
    pipeline "$OUT/noop.pipeline.lua" noop "$OUT/minute-1000000x50.csv" "$PWD/$OUT/noop.lua" ''
    measure "no-op strategy, 1,000,000 bars x 50 symbols" 1000000 "$OUT/noop.pipeline.lua"
    ;;
  positions) # 10,000 open positions, monitored and exit-evaluated on every bar
    gen minute-1000000x10000 --bars 1000000 --symbols 10000
    cat > "$OUT/hold.lua" <<'LUA'
return { on_bar = function(ctx, bar)
  ctx.state.n = (ctx.state.n or 0) + 1
  if ctx.state.n == 2 then
    return { side = "buy", qty = 1, stop_loss = bar.close * 0.5, take_profit = bar.close * 3 }
  end
end }
LUA
    pipeline "$OUT/positions.pipeline.lua" positions "$OUT/minute-1000000x10000.csv" \
      "$PWD/$OUT/hold.lua" \
      'broker = { starting_cash = 100000000 },
  risk = { max_positions = 20000, max_position_pct = 0.001, max_risk_pct = 0.001 },
  exits = { partial_exits = { enabled = false } },
  monitoring = { max_api_calls_per_minute = 100000 },'
    measure "10,000 open positions, 1,000,000 bars" 1000000 "$OUT/positions.pipeline.lua"
    ;;
  *) echo "unknown case $c (daily minute noop positions)" >&2; exit 2 ;;
  esac
done
