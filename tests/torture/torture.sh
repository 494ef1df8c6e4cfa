#!/usr/bin/env bash
# torture.sh: kill apex-host with SIGKILL at random moments and at chosen points, restart
# it on the same files, and check the invariants after every kill and at the end.
#
#   tests/torture/torture.sh [N]        (or make torture N=1000)
#
# Environment (all optional):
#   TORTURE_N          kills to make when N is not given (default 30)
#   SEED               seed of the kill schedule (default 1); the same seed gives the same
#                      schedule (delays, points, hit counts); what the host is doing at a
#                      delay still depends on the machine's timing
#   SPEED              replay speed of the killed runs (default 4000)
#   MAX_DELAY          longest random delay before a kill, seconds (default 2.5)
#   POINT_PCT          share of kills made at a breakpoint under gdb, percent (default 40;
#                      0 without gdb)
#   STALE_BASIS        max (default) or cursor: see check.sh --stale-basis
#   POINTS             space-separated subset of the kill points below (default: all)
#   SHARE              1 (default): rsi-reversion and scalper share one paper account;
#                      0: each has its own (<db>.<pipeline>.paper)
#   WORK               working directory (default: a new one under /tmp; kept on failure
#                      or with KEEP=1)
#   APEX_HOST, APEX_DATAGEN, APEX_SOURCE_DIR   set by ctest; default to ./build and .
#
# The host runs three pipelines on demo data: "ma-trend" (AAPL, TSLA) on its own account
# (the default <db>.ma-trend.paper, with fees), and "rsi-reversion" (MSFT) and "scalper"
# (AAPL, MSFT, TSLA, quick exits that walk) sharing one account named by broker.state.
# When the data runs out, the epoch ends: a restart on the finished files settles, the
# final check runs, and a new epoch starts on new files. Exit status 1 on any violation or
# if the host failed (a crash, or an exit code other than 0 when it stopped by itself).
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${APEX_SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}
HOST=${APEX_HOST:-$SRC/build/apex-host}
DATAGEN=${APEX_DATAGEN:-$SRC/build/apex-datagen}
N=${1:-${TORTURE_N:-30}}
SEED=${SEED:-1}
SPEED=${SPEED:-4000}
SETTLE_SPEED=${SETTLE_SPEED:-20000}
MAX_DELAY=${MAX_DELAY:-2.5}
POINT_PCT=${POINT_PCT:-40}
SHARE=${SHARE:-1}
CHECK="$HERE/check.sh"

for f in "$HOST" "$DATAGEN"; do
    [ -x "$f" ] || { echo "torture: $f is not built (make build)" >&2; exit 2; }
done
for tool in sqlite3 bc; do
    command -v "$tool" >/dev/null || { echo "torture: '$tool' is not installed (make deps)" >&2; exit 2; }
done
if [ "$POINT_PCT" -gt 0 ] && ! command -v gdb >/dev/null; then
    echo "torture: gdb is not installed (make deps installs it); kills at breakpoints need it" >&2
    exit 2
fi

if [ "$POINT_PCT" -gt 0 ] && ! gdb -q -nx -batch -ex run --args /bin/true 2>&1 | grep -q "exited normally"; then
    echo "torture: gdb cannot run a program under its control here (ptrace refused?):" >&2
    gdb -q -nx -batch -ex run --args /bin/true 2>&1 | head -3 | sed 's/^/  /' >&2
    echo "torture: kills at breakpoints need it; POINT_PCT=0 tortures with timed kills only" >&2
    exit 2
fi

KEEP=${KEEP:-0}
if [ -z "${WORK:-}" ]; then
    WORK=$(mktemp -d /tmp/apex-torture-XXXXXX)
else
    mkdir -p "$WORK"
fi
WORK=$(cd "$WORK" && pwd)

# ---- the kill schedule: a seeded generator (Park-Miller), independent of bash's RANDOM --

RNG=$(( (SEED % 2147483646) + 1 ))
rand() { # rand N -> R in [0, N)
    RNG=$(( RNG * 48271 % 2147483647 ))
    R=$(( RNG % $1 ))
}
rand_ms() { # rand_ms LO HI (milliseconds) -> R
    rand $(( $2 - $1 + 1 ))
    R=$(( R + $1 ))
}
MAX_DELAY_MS=$(awk -v d="$MAX_DELAY" 'BEGIN { printf "%d", d * 1000 }')

# ---- kill points ---------------------------------------------------------------------
#
# name | breakpoint | gdb command run once it is hit, before the kill | most hits skipped
# Breakpoints name functions of the host (core/) that are not inlined away (gdb places
# breakpoints on inlined static functions unreliably); a point whose function no longer
# exists is reported as unavailable and its kills become timed kills.
POINT_TABLE=(
    "fill.before|break store_fill_insert||6"                    # the broker has the fill; the fill's unit has nothing yet
    "fill.row|break store_fill_insert|finish|6"                 # inside the fill's unit: the fill row written, the rest not
    "fill.position|break store_position_insert||4"              # inside an entry fill's unit: the position row not written
    "fill.event|break store_event if kind[0] == 'f' && kind[1] == 'i' && kind[2] == 'l'||6" # inside the fill's unit: all but its event
    "fill.hook|break position_hooks.c:on_fill||6"               # the fill committed, the pipeline's fill hook not run
    "broker.fill|break paper_apply_fill||6"                     # inside the paper broker's fill transaction
    "exit.decided|break store_exit_insert|finish|3"             # exit row written, legs not cancelled
    "exit.legs|break executor.c:on_cancel_reply||3"             # a leg's cancel confirmed
    "exit.order|break executor.c:place_next|finish|3"           # an exit order placed (working at the broker)
    "exit.walk|break executor.c:escalate||2"                    # timed out and cancelled: the next walk step
    "exit.timeout|break executor.c:on_timeout||2"               # an exit order timed out
    "exit.fill|break exit_executor_on_fill||3"                  # an exit order (partly) filled
    "complete|break pipeline_complete||3"                       # the position is flat: completing
    "restart.reconcile|break resume.c:on_reconciled||1"         # during a restart's reconciliation
)
declare -A POINT_CMD=() POINT_AFTER=() POINT_SKIP=()
POINT_NAMES=()
for row in "${POINT_TABLE[@]}"; do
    IFS='|' read -r name cmd after skip <<<"$row"
    POINT_CMD[$name]=$cmd
    POINT_AFTER[$name]=$after
    POINT_SKIP[$name]=$skip
    POINT_NAMES+=("$name")
done
if [ -n "${POINTS:-}" ]; then
    read -r -a POINT_NAMES <<<"$POINTS"
    for p in "${POINT_NAMES[@]}"; do
        [ -n "${POINT_CMD[$p]:-}" ] || { echo "torture: unknown kill point '$p' (known: ${!POINT_CMD[*]})" >&2; exit 2; }
    done
fi

# ---- an epoch: fresh files and pipelines ---------------------------------------------

"$DATAGEN" "$WORK/data" >/dev/null || { echo "torture: apex-datagen failed" >&2; exit 2; }

EPOCH=0
new_epoch() {
    EPOCH=$((EPOCH + 1))
    ED="$WORK/e$EPOCH"
    mkdir -p "$ED/logs" "$ED/state"
    DB="$ED/store.db"
    SHARED="$ED/shared.paper"
    local state="state = \"$SHARED\","
    [ "$SHARE" = 1 ] || state=""
    local S="$SRC/strategies" D="$WORK/data" I="$SRC/instructions"
    cat >"$ED/ma_trend.lua" <<EOF
return apex.pipeline {
    name = "ma-trend",
    symbols = { "AAPL", "TSLA" },
    data = { files = { "$D/bars.csv" }, news = "$D/news.csv" },
    broker = { kind = "paper", starting_cash = 100000, fee_per_share = 0.005, fee_min = 1 },
    bias = { file = "$S/trend_bias.lua", params = { period = 50, slope_bars = 10 } },
    strategy = { file = "$S/ma_cross.lua",
                 params = { fast = 10, slow = 30, kind = "sma", stop_atr = 2, reward_risk = 2 } },
    risk = { max_risk_pct = 0.01, max_position_pct = 0.20, max_positions = 2 },
    exits = { early_exit_edge = 0 },
    instructions = { "close if VIX > 40", "liquidate if SPY drops 3% intraday" },
}
EOF
    cat >"$ED/rsi_reversion.lua" <<EOF
return apex.pipeline {
    name = "rsi-reversion",
    symbols = { "MSFT" },
    data = { files = { "$D/bars.csv" }, news = "$D/news.csv" },
    broker = { kind = "paper", starting_cash = 200000, $state },
    bias = { file = "$S/range_bias.lua", params = { bb_period = 20, max_width = 0.012 } },
    strategy = { file = "$S/rsi_reversion.lua",
                 params = { rsi_period = 14, oversold = 30, target = "mid", low_lookback = 10 } },
    risk = { max_risk_pct = 0.01, max_position_pct = 0.25, max_positions = 1 },
    instructions = { "exit on high impact news for this symbol", { file = "$I/vix_spike.lua" } },
}
EOF
    # Quick, walking exits: a small partial target and a tight trailing stop fire often,
    # and short limit timeouts make the orders walk and escalate.
    cat >"$ED/scalper.lua" <<EOF
return apex.pipeline {
    name = "scalper",
    symbols = { "AAPL", "MSFT", "TSLA" },
    data = { files = { "$D/bars.csv" }, news = "$D/news.csv" },
    broker = { kind = "paper", starting_cash = 200000, $state },
    strategy = { file = "$S/ma_cross.lua",
                 params = { fast = 5, slow = 15, kind = "ema", stop_atr = 3, reward_risk = 3 } },
    risk = { max_risk_pct = 0.01, max_position_pct = 0.10, max_positions = 3 },
    exits = {
        early_exit_edge = 0,
        trailing_stop = { enabled = true, activation_pct = 0.002, distance_pct = 0.001 },
        partial_exits = { enabled = true,
                          stages = { { name = "quick", profit_threshold = 0.001, exit_percentage = 50 } } },
        execution = {
            HIGH = { price = "conservative", timeout_seconds = 5, max_walks = 3, market_after_walks = true },
            MEDIUM = { price = "conservative", timeout_seconds = 5, max_walks = 3, market_after_walks = false },
            LOW = { price = "conservative", timeout_seconds = 5, max_walks = 2, market_after_walks = false },
        },
    },
    monitoring = { normal_frequency = 10, urgent_frequency = 5 },
}
EOF
    PIPES=("$ED/ma_trend.lua" "$ED/rsi_reversion.lua" "$ED/scalper.lua")
    if [ "$SHARE" = 1 ]; then
        ACCOUNTS=(--account "$DB.ma-trend.paper=ma-trend" --account "$SHARED=rsi-reversion,scalper")
    else
        ACCOUNTS=(--account "$DB.ma-trend.paper=ma-trend" --account "$DB.rsi-reversion.paper=rsi-reversion"
                  --account "$DB.scalper.paper=scalper")
    fi
    RUN_IN_EPOCH=0
}

# ---- bookkeeping -----------------------------------------------------------------------

INVARIANTS="integrity duplicate_order double_entry position_owner ledger fill_event stale_exit lost"
KILLS=0 RESTARTS=0 CHECKS=0 FAILED_CHECKS=0 HOST_FAILURES=0 ENDS=0
declare -A KILLS_BY=() UNAVAILABLE=() FIRST_BY=()
ALL="$WORK/violations.tsv" # epoch, check, kill kind, invariant, key, text
: >"$ALL"
HOST_FAIL_LOG="$WORK/host-failures.txt"
: >"$HOST_FAIL_LOG"

say() { printf '%s\n' "$*"; }

# check WHAT KIND [--final]: runs the checker on the current epoch after WHAT (a kill of
# kind KIND, or a run that stopped by itself) and files its violations under KIND.
check() {
    local what="$1" kind="$2"; shift 2
    CHECKS=$((CHECKS + 1))
    local out rc
    out=$("$CHECK" --db "$DB" "${ACCOUNTS[@]}" --state "$ED/state" --logs "$ED/logs/*.log" \
        --label "#$CHECKS (epoch $EPOCH, after $what)" --quiet "$@" 2>&1)
    rc=$?
    if [ $rc -ne 0 ]; then
        FAILED_CHECKS=$((FAILED_CHECKS + 1))
        printf '%s\n' "$out" | sed -n '1,/^SUMMARY/p' | grep -v '^SUMMARY' | sed 's/^/    /'
        if [ -f "$ED/state/violations.tsv" ]; then
            awk -F'\t' -v e="$EPOCH" -v c="$CHECKS" -v k="$kind" 'BEGIN { OFS = "\t" } { print e, c, k, $1, $2, $3 }' \
                "$ED/state/violations.tsv" >>"$ALL"
        fi
        [ $rc -eq 1 ] || { say "torture: the checker failed (exit $rc)"; HOST_FAILURES=$((HOST_FAILURES + 1)); }
    fi
}

# ---- one run of the host, ended by a kill or by itself -------------------------------------

HOST_PID=""
start_log() {
    RUN_IN_EPOCH=$((RUN_IN_EPOCH + 1))
    LOG="$ED/logs/run-$(printf '%04d' "$RUN_IN_EPOCH").log"
}

# Waits for $1 (a pid) up to $2 ms; returns 0 if it ended.
wait_for() {
    local pid=$1 ms=$2 waited=0
    while kill -0 "$pid" 2>/dev/null; do
        [ "$waited" -ge "$ms" ] && return 1
        sleep 0.05
        waited=$((waited + 50))
    done
    return 0
}

host_ended() { # host_ended CODE: the host stopped by itself
    local code=$1
    if [ "$code" -ne 0 ]; then
        HOST_FAILURES=$((HOST_FAILURES + 1))
        say "  host exited $code by itself (epoch $EPOCH, $LOG)" | tee -a "$HOST_FAIL_LOG"
        tail -5 "$LOG" | sed 's/^/    /' | tee -a "$HOST_FAIL_LOG"
    fi
}

# run_timed DELAY_MS: the host runs until the delay passes (SIGKILL) or it stops by itself.
# Sets KILLED=1 if it was killed.
run_timed() {
    local delay=$1 code
    start_log
    "$HOST" run --speed "$SPEED" --db "$DB" "${PIPES[@]}" >"$LOG" 2>&1 &
    HOST_PID=$!
    KILLED=0
    if ! wait_for "$HOST_PID" "$delay"; then
        kill -KILL "$HOST_PID" 2>/dev/null
        KILLED=1
    fi
    wait "$HOST_PID" 2>/dev/null
    code=$?
    HOST_PID=""
    if [ "$KILLED" = 1 ] && [ "$code" -ne 137 ]; then
        KILLED=0 # it ended on its own just before the kill
    fi
    [ "$KILLED" = 1 ] || host_ended "$code"
}

# run_point NAME SKIP DEADLINE_MS: the host runs under gdb with a breakpoint; the process
# is SIGKILLed where it stops (after the point's extra commands), or at the deadline.
# Sets KILLED=1 and HIT=1/0.
run_point() {
    local name=$1 skip=$2 deadline=$3 gpid ipid code
    start_log
    local -a gargs=(-q -nx -batch
        -ex "set pagination off" -ex "set confirm off" -ex "set breakpoint pending off"
        -ex "set startup-with-shell off" -ex "set print thread-events off"
        -ex "handle SIGPIPE SIGALRM SIGVTALRM SIGPROF SIGCHLD SIGUSR1 SIGUSR2 nostop noprint pass"
        -ex "handle SIG32 SIG33 SIG34 SIG35 SIG36 SIG37 SIG38 SIG39 SIG40 SIG41 SIG42 SIG43 SIG44 nostop noprint pass"
        -ex "${POINT_CMD[$name]}" -ex "ignore 1 $skip" -ex "run")
    [ -n "${POINT_AFTER[$name]}" ] && gargs+=(-ex "${POINT_AFTER[$name]}")
    gargs+=(-ex "info symbol \$pc" -ex "kill" -ex "quit")
    # LeakSanitizer cannot run under ptrace: under gdb a sanitizer build checks no leaks.
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" gdb "${gargs[@]}" --args "$HOST" run --speed "$SPEED" --db "$DB" "${PIPES[@]}" >"$LOG" 2>&1 &
    gpid=$!
    HOST_PID=$gpid
    KILLED=0
    HIT=0
    if ! wait_for "$gpid" "$deadline"; then
        # Not reached in time: kill the host where it is (a timed kill under gdb).
        ipid=$(ps -o pid= --ppid "$gpid" 2>/dev/null | head -1 | tr -d ' ')
        [ -n "$ipid" ] && kill -KILL "$ipid" 2>/dev/null
        wait_for "$gpid" 10000 || kill -KILL "$gpid" 2>/dev/null
        KILLED=1
    fi
    wait "$gpid" 2>/dev/null
    HOST_PID=""
    if grep -q "Function \".*\" not defined\|No source file named\|No symbol table" "$LOG"; then
        UNAVAILABLE[$name]=1
    fi
    if grep -q "^Breakpoint 1, \|hit Breakpoint 1, " "$LOG"; then
        HIT=1
        KILLED=1
    fi
    if [ "$KILLED" = 0 ]; then
        code=$(sed -n 's/.*\[Inferior 1 (process [0-9]*) exited with code \([0-9]*\)\].*/\1/p' "$LOG" | tail -1)
        if grep -q "exited normally" "$LOG"; then code=0; fi
        if grep -q "Program terminated with signal\|Program received signal SIG[A-Z]*," "$LOG"; then
            code=139
        fi
        host_ended "${code:-255}"
    fi
}

cleanup() {
    [ -n "$HOST_PID" ] && kill -KILL "$HOST_PID" 2>/dev/null
    if [ "$KEEP" = 1 ] || [ "${RESULT:-1}" != 0 ]; then
        say "torture: files kept in $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The epoch's end: a restart on the finished files (it reconciles, resumes and stops at
# the end of the data), then the final check.
settle() {
    RESTARTS=$((RESTARTS + 1))
    "$CHECK" --db "$DB" "${ACCOUNTS[@]}" --state "$ED/state" --mark-restart "$RESTARTS"
    start_log
    local code
    timeout 300 "$HOST" run --speed "$SETTLE_SPEED" --db "$DB" "${PIPES[@]}" >"$LOG" 2>&1
    code=$?
    host_ended "$code"
    check "the settling run" "a settling run" --final
}

# ---- the torture -------------------------------------------------------------------------

say "torture: $N kills, seed $SEED, speed $SPEED, shared account $( [ "$SHARE" = 1 ] && echo yes || echo no), random delays up to ${MAX_DELAY}s, ${POINT_PCT}% at breakpoints; work $WORK"
say "torture: host $HOST ($("$HOST" version 2>/dev/null | head -1))"
T0=$(date +%s)
new_epoch
fresh=1
while [ "$KILLS" -lt "$N" ]; do
    if [ "$fresh" = 0 ]; then
        RESTARTS=$((RESTARTS + 1))
        "$CHECK" --db "$DB" "${ACCOUNTS[@]}" --state "$ED/state" --mark-restart "$RESTARTS"
    fi
    rand 100
    if [ "$R" -lt "$POINT_PCT" ]; then
        rand "${#POINT_NAMES[@]}"
        point=${POINT_NAMES[$R]}
        rand $(( ${POINT_SKIP[$point]} + 1 ))
        skip=$R
        rand_ms $(( 3 * MAX_DELAY_MS )) $(( 6 * MAX_DELAY_MS ))
        run_point "$point" "$skip" "$R"
        if [ "$HIT" = 1 ]; then kind="point $point"; else kind="timed"; under="timed (under gdb: $point not reached)"; fi
    else
        rand_ms 50 "$MAX_DELAY_MS"
        run_timed "$R"
        kind="timed"
        under=""
    fi
    fresh=0
    if [ "$KILLED" = 1 ]; then
        KILLS=$((KILLS + 1))
        label=$kind
        [ "$kind" = timed ] && [ -n "$under" ] && label=$under
        KILLS_BY[$label]=$(( ${KILLS_BY[$label]:-0} + 1 ))
        check "kill $KILLS ($kind)" "$kind"
        if [ $((KILLS % 10)) = 0 ]; then
            say "torture: $KILLS kills, $RESTARTS restarts, epoch $EPOCH, $FAILED_CHECKS failing check(s), $(( $(date +%s) - T0 )) s"
        fi
    else
        # The data ran out: settle, check, and start again on new files.
        ENDS=$((ENDS + 1))
        check "the end of the data" "an end of data"
        settle
        new_epoch
        fresh=1
    fi
done
[ "$fresh" = 1 ] || settle
ELAPSED=$(( $(date +%s) - T0 ))

# ---- the report --------------------------------------------------------------------------

COMMIT=$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)
{
    echo
    echo "==== crash torture: seed $SEED, commit $COMMIT, $ELAPSED s ===="
    echo "kills $KILLS, restarts $RESTARTS (after kills and settling runs), epochs $EPOCH, runs that reached the end of the data $ENDS, checks $CHECKS ($FAILED_CHECKS with violations), host failures $HOST_FAILURES"
    echo "kills by kind:"
    for k in "${!KILLS_BY[@]}"; do printf '  %-60s %d\n' "$k" "${KILLS_BY[$k]}"; done | sort
    if [ "${#UNAVAILABLE[@]}" -gt 0 ]; then
        echo "kill points unavailable in this build (their function is gone): ${!UNAVAILABLE[*]}"
    fi
    echo "violations per invariant (distinct faults over the run; a fault stays reported until it is repaired):"
    printf '  %-16s %10s %14s  %s\n' invariant violations "failing checks" "first seen after (kills of this kind)"
    for inv in $INVARIANTS; do
        distinct=$(awk -F'\t' -v i="$inv" '$4 == i { print $1 "\t" $5 }' "$ALL" | sort -u | grep -c .)
        checks=$(awk -F'\t' -v i="$inv" '$4 == i { print $1 "\t" $2 }' "$ALL" | sort -u | grep -c .)
        firsts=$(awk -F'\t' -v i="$inv" '$4 == i && !seen[$1 "\t" $5]++ { n[$3]++ }
                 END { for (k in n) printf "%s%s: %d", (c++ ? "; " : ""), k, n[k] }' "$ALL")
        printf '  %-16s %10d %14d  %s\n' "$inv" "$distinct" "$checks" "$firsts"
    done
    echo "violations by kind (the key's first word):"
    awk -F'\t' '{ split($5, k, ":"); print $4 "\t" $1 "\t" $5 "\t" k[1] }' "$ALL" | sort -u |
        awk -F'\t' '{ n[$1 " " $4]++ } END { for (x in n) printf "  %-40s %d\n", x, n[x] }' | sort
} | tee "$WORK/summary.txt"

if [ -s "$ALL" ]; then
    echo "examples (first of each invariant):"
    for inv in $INVARIANTS; do
        awk -F'\t' -v i="$inv" '$4 == i { print "  " i ": " $6 " [epoch " $1 ", check " $2 ", after " $3 "]"; exit }' "$ALL"
    done
fi
TOTAL=$(grep -c . "$ALL")
if [ "$TOTAL" -eq 0 ] && [ "$HOST_FAILURES" -eq 0 ] && [ "$KILLS" -ge "$N" ]; then
    RESULT=0
    say "torture: all invariants held"
else
    RESULT=1
    say "torture: FAILED (violations in $FAILED_CHECKS check(s), $HOST_FAILURES host failure(s)); logs and databases in $WORK"
fi
exit $RESULT
