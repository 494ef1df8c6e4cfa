#!/usr/bin/env bash
# Pattern matching: Lua 5.4's own string.find/match/gmatch/gsub against the host's bounded
# ones (core/script/pattern.c) on what trader scripts do with them.
#   bench/pattern.sh [ROUNDS]     (default 20000)
# Prints wall ns per call (best of 25, the two states alternating) and, when valgrind is
# installed, instructions per call under callgrind, which a shared machine's load does not
# move. Copy the figures into docs/performance.md with the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BIN=$BUILD/bench-pattern
[ -x "$BIN" ] || { echo "build first: make build" >&2; exit 1; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
"$BIN" "${1:-20000}"

command -v valgrind >/dev/null || { echo "(valgrind not installed: no instruction counts)"; exit 0; }
# Instructions per call: (a run of N+1 calls - a run of 1 call) / N, so start-up cancels.
instr() { # case state rounds
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$BIN" --one "$1" "$2" "$3" 2>&1 |
    sed -n 's/.*Collected : //p'
}
N=2000
echo
printf '%-44s %12s %12s %7s\n' "case (callgrind)" "Lua instr" "host instr" "ratio"
"$BIN" --cases | while IFS=$'\t' read -r i name; do
  real=$(( ($(instr "$i" real $((N + 1))) - $(instr "$i" real 1)) / N ))
  host=$(( ($(instr "$i" host $((N + 1))) - $(instr "$i" host 1)) / N ))
  awk -v n="$name" -v a="$real" -v b="$host" 'BEGIN { printf "%-44s %12d %12d %7.2f\n", n, a, b, b / a }'
done
