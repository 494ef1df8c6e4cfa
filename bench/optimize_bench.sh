#!/usr/bin/env bash
# `apex-host optimize` throughput: backtests per minute on the demo data (ma_trend.lua, a
# 8 x 5 grid of strategy.fast and strategy.slow = 40 backtests), with --jobs 1 and --jobs 2
# alternating so a shared machine's load falls on both alike; then, in the same round,
# --search halving over the same 40 sets (--jobs 2) for its wall time against the grid's.
#   bench/optimize_bench.sh [ROUNDS]     (default 3)
# Prints the machine and its load before and after, each run, and the median of each
# kind; copy them into docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
HOST=$BUILD/apex-host
[ -x "$HOST" ] && [ -x "$BUILD/apex-datagen" ] || { echo "build first: make build" >&2; exit 1; }
ROUNDS=${1:-3}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
"$BUILD/apex-datagen" "$W/data" >/dev/null
sed -e "s#\.\./\.\./data/demo#$W/data#g" -e "s#\"\.\./\([a-z_]*\.lua\)\"#\"$PWD/strategies/\1\"#g" \
    -e "s#\.\./\.\./instructions#$PWD/instructions#g" strategies/examples/ma_trend.lua > "$W/ma_trend.lua"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "before:  $(uptime)"
GRID=(--grid strategy.fast=4:18:2 --grid strategy.slow=20:60:10 --metric net_pnl)
declare -A rates secs
for r in $(seq "$ROUNDS"); do
  for kind in 1 2 halving; do
    if [ "$kind" == halving ]; then
      args=(--search halving --jobs 2)
    else
      args=(--jobs "$kind")
    fi
    "$HOST" optimize "${GRID[@]}" "${args[@]}" --out "$W/t$kind.csv" --json "$W/r.json" "$W/ma_trend.lua" 2>/dev/null
    rate=$(jq '.backtests_per_minute' "$W/r.json")
    s=$(jq '.elapsed_seconds' "$W/r.json")
    printf 'round %d  %-15s %d backtests in %5.2f s  %7.1f backtests/min  (load %s)\n' "$r" \
      "$( [ "$kind" == halving ] && echo 'halving -j 2' || echo "--jobs $kind")" \
      "$(jq .backtests "$W/r.json")" "$s" "$rate" "$(cut -d' ' -f1 /proc/loadavg)"
    rates[$kind]="${rates[$kind]:-} $rate"
    secs[$kind]="${secs[$kind]:-} $s"
  done
  cmp -s "$W/t1.csv" "$W/t2.csv" || { echo "the tables of --jobs 1 and 2 differ" >&2; exit 1; }
done
echo "after:   $(uptime)"
median() { tr ' ' '\n' | grep . | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
m1=$(median <<<"${rates[1]}")
m2=$(median <<<"${rates[2]}")
awk -v a="$m1" -v b="$m2" 'BEGIN { printf "median: --jobs 1 %.1f/min, --jobs 2 %.1f/min, speed-up %.2fx\n", a, b, b / a }'
s2=$(median <<<"${secs[2]}")
sh=$(median <<<"${secs[halving]}")
awk -v g="$s2" -v h="$sh" 'BEGIN { printf "median wall time, --jobs 2: grid %.2f s, halving %.2f s (%.2fx the grid)\n", g, h, h / g }'
