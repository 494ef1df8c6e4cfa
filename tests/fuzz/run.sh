#!/usr/bin/env bash
# Runs the libFuzzer harnesses built in build-fuzz/ (make fuzz-build).
#
#   tests/fuzz/run.sh smoke     every harness for a fixed number of runs with a fixed seed
#                               (part of `make test`; a few seconds each, capped at 9 s)
#   tests/fuzz/run.sh long      every harness for FUZZ_SECONDS (default 300) with a random
#                               seed, on a corpus kept in build-fuzz/fuzz-corpus/ between runs
#   tests/fuzz/run.sh known     replays tests/fuzz/known/<name>/*: inputs that crash a
#                               harness because of a defect whose fix lives on another branch;
#                               once they all pass, move them into corpus/<name>/
#
# Environment: FUZZ_BUILD (build dir, default build-fuzz), FUZZ_HARNESSES (names to run,
# default all), FUZZ_SECONDS, FUZZ_SEED (long; default random), FUZZ_RUNS and
# FUZZ_SMOKE_SECONDS (smoke: runs per harness, default by harness speed, and the time cap).
#
# A crash, a sanitizer report, a leak, a timeout (-timeout) or running out of memory
# (-rss_limit_mb) fails the run: the input is saved in build-fuzz/fuzz-artifacts/<name>/
# and the line to reproduce it is printed. A summary table (executions, speed, coverage,
# corpus size, crashes) goes to stdout and to build-fuzz/fuzz-<mode>.md.
set -uo pipefail

mode=${1:-smoke}
src=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$src/../.." && pwd)
build=${FUZZ_BUILD:-$root/build-fuzz}
harnesses=${FUZZ_HARNESSES:-"csv_feed timestamp money news pipeline_loader instructions pattern alpaca_json"}

# Smoke runs per harness: about 2-5 s of work each on an idle core (25 s in all).
smoke_runs() {
    case $1 in
    timestamp | money) echo 500000 ;;
    news) echo 50000 ;;
    pipeline_loader) echo 8000 ;;
    instructions) echo 6000 ;;
    pattern) echo 8000 ;;
    alpaca_json) echo 50000 ;;
    *) echo 10000 ;;
    esac
}

case $mode in
known)
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
    status=0
    for name in $harnesses; do
        for input in "$src"/known/"$name"/*; do
            [ -f "$input" ] || continue
            if (timeout 60 "$build/tests/fuzz/fuzz_$name" -timeout=10 -rss_limit_mb=2048 \
                "$input" >/dev/null 2>&1) 2>/dev/null; then
                echo "fuzz: known/$name/$(basename "$input"): passes now; move it into corpus/$name/"
            else
                echo "fuzz: known/$name/$(basename "$input"): still fails"
                status=1
            fi
        done
    done
    exit $status
    ;;
smoke)
    cap=${FUZZ_SMOKE_SECONDS:-9}
    ;;
long)
    seconds=${FUZZ_SECONDS:-300}
    seed=${FUZZ_SEED:-0}
    ;;
*)
    echo "usage: $0 smoke|long|known" >&2
    exit 2
    ;;
esac

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

report=$build/fuzz-$mode.md
{
    echo "| harness | executions | seconds | exec/s | coverage (cov/ft) | corpus | crashes |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
} >"$report"

failed=()
for name in $harnesses; do
    bin=$build/tests/fuzz/fuzz_$name
    if [ ! -x "$bin" ]; then
        echo "fuzz: $bin is missing; run make fuzz-build" >&2
        exit 2
    fi
    seeds=$src/corpus/$name
    artifacts=$build/fuzz-artifacts/$name
    mkdir -p "$artifacts"
    args=(-timeout=10 -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1
          -artifact_prefix="$artifacts/")
    [ -f "$src/$name.dict" ] && args+=(-dict="$src/$name.dict")
    if [ "$mode" = smoke ]; then
        # A fresh scratch corpus each time: the same seed over the same inputs explores the
        # same way, so a smoke failure reproduces.
        work=$build/fuzz-smoke/$name
        rm -rf "$work"
        args+=(-seed=1 -runs="${FUZZ_RUNS:-$(smoke_runs "$name")}" -max_total_time="$cap")
    else
        work=$build/fuzz-corpus/$name
        args+=(-seed="$seed" -max_total_time="$seconds")
    fi
    mkdir -p "$work"
    log=$build/fuzz-logs/$name.$mode.log
    mkdir -p "$(dirname "$log")"
    start=$(date +%s.%N)
    # The first directory receives new inputs; the seed corpus in the source tree is only read.
    "$bin" "${args[@]}" "$work" "$seeds" >"$log" 2>&1
    rc=$?
    end=$(date +%s.%N)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    cov=$(sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\).*/\1\/\2/p' <<<"$last")
    corp=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$last")
    rate=$(awk -v n="${execs:-0}" -v s="$secs" 'BEGIN { printf "%d", (s > 0 ? n / s : 0) }')
    crashes=0
    if [ $rc -ne 0 ]; then
        crashes=1
        failed+=("$name")
        echo "fuzz: $name FAILED (exit $rc); log: $log" >&2
        grep -E 'ERROR: |invariant violated|runtime error|Test unit written|SUMMARY' "$log" \
            | head -20 >&2
        unit=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
        [ -n "$unit" ] && echo "fuzz: reproduce with: $bin $unit" >&2
    fi
    printf '%-16s %10s execs in %6ss (%s/s), cov/ft %s, corpus %s, crashes %d\n' \
        "$name" "${execs:-?}" "$secs" "$rate" "${cov:-?}" "${corp:-?}" "$crashes"
    echo "| $name | ${execs:-?} | $secs | $rate | ${cov:-?} | ${corp:-?} | $crashes |" >>"$report"
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: $mode run failed: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz: $mode run passed ($report)"
