#!/usr/bin/env bash
# planted.sh: the invariant checker catches what it is meant to catch.
#
# A run of two pipelines, each on its own persisted paper account, stopped with SIGTERM
# once the store holds everything the faults need (an open position, a completed trade,
# fills and their events, exits, a cancelled bracket leg), gives a clean store. For each
# invariant a copy of it gets one planted fault, written with the sqlite3 CLI, and the
# checker must report that invariant, and no other one, more often than on the untouched
# copy.
#
#   tests/torture/planted.sh            (ctest: torture.planted)
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${APEX_SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}
HOST=${APEX_HOST:-$SRC/build/apex-host}
DATAGEN=${APEX_DATAGEN:-$SRC/build/apex-datagen}
CHECK="$HERE/check.sh"
INVARIANTS="integrity duplicate_order double_entry position_owner ledger fill_event stale_exit lost"

WORK=$(mktemp -d /tmp/apex-planted-XXXXXX)
trap '[ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"' EXIT
FAILS=0
fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }

# ---- the clean store -----------------------------------------------------------------

"$DATAGEN" "$WORK/data" >/dev/null || { echo "apex-datagen failed" >&2; exit 1; }
S="$SRC/strategies"
mkdir -p "$WORK/clean"
cat >"$WORK/trend.lua" <<EOF
return apex.pipeline {
    name = "trend",
    symbols = { "AAPL", "TSLA" },
    data = { files = { "$WORK/data/bars.csv" } },
    broker = { kind = "paper", starting_cash = 100000, fee_per_share = 0.005, fee_min = 1,
               state = "$WORK/clean/trend.paper" },
    strategy = { file = "$S/ma_cross.lua", params = { fast = 10, slow = 30 } },
    risk = { max_risk_pct = 0.01, max_position_pct = 0.20, max_positions = 2 },
    exits = { early_exit_edge = 0 },
}
EOF
cat >"$WORK/scalper.lua" <<EOF
return apex.pipeline {
    name = "scalper",
    symbols = { "AAPL", "MSFT", "TSLA" },
    data = { files = { "$WORK/data/bars.csv" } },
    broker = { kind = "paper", starting_cash = 200000, state = "$WORK/clean/scalper.paper" },
    strategy = { file = "$S/ma_cross.lua",
                 params = { fast = 5, slow = 15, kind = "ema", stop_atr = 3, reward_risk = 3 } },
    risk = { max_risk_pct = 0.01, max_position_pct = 0.10, max_positions = 3 },
    exits = {
        early_exit_edge = 0,
        trailing_stop = { enabled = true, activation_pct = 0.002, distance_pct = 0.001 },
        partial_exits = { enabled = true,
                          stages = { { name = "quick", profit_threshold = 0.001, exit_percentage = 50 } } },
        execution = { HIGH = { price = "conservative", timeout_seconds = 5, max_walks = 3, market_after_walks = true } },
    },
}
EOF
sq() { sqlite3 -batch -noheader "$@"; }
DB="$WORK/clean/store.db"
# Open executions whose position the broker still holds: at a stop the store can lag the
# account by an exit fill, and such an execution cannot show a position_owner fault.
HELD="SELECT e.id FROM executions e WHERE e.status = 'monitoring' AND e.id IN (SELECT execution_id FROM fills)
      AND EXISTS (SELECT 1 FROM t.paper_positions p WHERE e.pipeline = 'trend' AND p.symbol = e.symbol AND p.qty != 0
                  UNION ALL SELECT 1 FROM s.paper_positions p WHERE e.pipeline = 'scalper' AND p.symbol = e.symbol AND p.qty != 0)"
ready() {
    [ -f "$WORK/clean/trend.paper" ] && [ -f "$WORK/clean/scalper.paper" ] || return 1
    [ "$(sq "$DB" "ATTACH '$WORK/clean/trend.paper' AS t; ATTACH '$WORK/clean/scalper.paper' AS s;
                   SELECT (SELECT count(*) FROM ($HELD)) > 0
                    AND (SELECT count(*) FROM executions WHERE status = 'completed'
                         AND id IN (SELECT execution_id FROM fills)) > 0
                    AND (SELECT count(*) FROM events WHERE kind = 'fill') > 0
                    AND (SELECT count(*) FROM position_exits) > 0
                    AND (SELECT count(*) FROM orders WHERE role = 'take_profit' AND status = 'cancelled') > 0
                    AND (SELECT count(*) FROM cursors) > 0" 2>/dev/null)" = 1 ]
}
# A run stopped at a moment when an execution holds a position; a position can close
# between the look and the stop, so look again after it and resume until it holds.
for attempt in 1 2 3 4 5; do
    "$HOST" run --speed 8000 --db "$DB" "$WORK/trend.lua" "$WORK/scalper.lua" >>"$WORK/run.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 1200); do
        ready && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -TERM "$pid" 2>/dev/null
    wait "$pid"
    code=$?
    ready && break
done
if ! ready; then
    tail -20 "$WORK/run.log" >&2
    echo "the run (exit $code) never stopped holding an open position, a completed trade, an exit and a cancelled leg" >&2
    exit 1
fi
# Settle the WAL files into the databases so a copy is one file each.
for f in "$WORK"/clean/*.db "$WORK"/clean/*.paper; do sq "$f" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null; done


# The facts the faults need must exist in the clean store.
need() { [ -n "$2" ] && [ "$2" != 0 ] || { echo "the clean store has no $1; the test data changed?" >&2; exit 1; }; }
need "open execution with a fill" "$(sq "$WORK/clean/store.db" "SELECT count(*) FROM executions WHERE status = 'monitoring' AND id IN (SELECT execution_id FROM fills)")"
need "open execution whose position the broker holds" "$(sq "$WORK/clean/store.db" "ATTACH '$WORK/clean/trend.paper' AS t; ATTACH '$WORK/clean/scalper.paper' AS s; SELECT count(*) FROM ($HELD)")"
need "completed execution" "$(sq "$WORK/clean/store.db" "SELECT count(*) FROM executions WHERE status = 'completed'")"
need "fill event" "$(sq "$WORK/clean/store.db" "SELECT count(*) FROM events WHERE kind = 'fill'")"
need "exit" "$(sq "$WORK/clean/store.db" "SELECT count(*) FROM position_exits")"
need "cancelled take-profit leg" "$(sq "$WORK/clean/store.db" "SELECT count(*) FROM orders WHERE role = 'take_profit' AND status = 'cancelled'")"

# check DIR [extra args] -> "SUMMARY ..." line of the checker
check() {
    local d="$1"; shift
    "$CHECK" --db "$d/store.db" --account "$d/trend.paper=trend" --account "$d/scalper.paper=scalper" \
        "$@" >"$d/check.out" 2>&1
    grep '^SUMMARY' "$d/check.out"
}
count_of() { # count_of INVARIANT SUMMARY-LINE
    sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$2"
}

BASE=$(check "$WORK/clean")
echo "the clean store: $BASE"
[ -n "$BASE" ] || { cat "$WORK/clean/check.out" >&2; exit 1; }
[ "$(count_of integrity "$BASE")" = 0 ] || { cat "$WORK/clean/check.out" >&2; echo "the clean store is corrupt" >&2; exit 1; }

# plant INVARIANT DESCRIPTION: copies the clean store to $CASE; the caller plants the
# fault there, then calls expect.
plant() {
    CASE="$WORK/$1"
    rm -rf "$CASE"
    cp -r "$WORK/clean" "$CASE"
    PLANTED="$1"
    WHAT="$2"
}
expect() { # expect [checker args]: the planted invariant, and only it, reports more
    local got inv b g
    got=$(check "$CASE" "$@")
    if [ -z "$got" ]; then
        fail "$PLANTED ($WHAT): the checker gave no summary: $(tail -3 "$CASE/check.out")"
        return
    fi
    local wrong=""
    for inv in $INVARIANTS; do
        b=$(count_of "$inv" "$BASE")
        g=$(count_of "$inv" "$got")
        if [ "$inv" = "$PLANTED" ]; then
            [ "$g" -gt "$b" ] || wrong+=" $inv not reported ($b before, $g after)"
        else
            [ "$g" = "$b" ] || wrong+=" $inv also reported ($b before, $g after)"
        fi
    done
    if [ -n "$wrong" ]; then
        fail "$PLANTED ($WHAT):$wrong"
        sed 's/^/    /' "$CASE/check.out" >&2
    else
        echo "ok: $PLANTED: $WHAT -> $(grep -A1 "^  $PLANTED " "$CASE/check.out" | tail -1 | sed 's/^ *//')"
    fi
}

plant integrity "an index of the store points at another table's b-tree"
sq "$CASE/store.db" "PRAGMA writable_schema = ON;
    UPDATE sqlite_schema SET rootpage = (SELECT rootpage FROM sqlite_schema WHERE name = 'executions_status')
    WHERE name = 'equity_pipeline_ts';"
expect

plant duplicate_order "the broker renumbered an order it had accepted (it received the id again)"
sq "$CASE/scalper.paper" "UPDATE paper_orders SET broker_order_id = 'paper-999999' WHERE seq = (SELECT min(seq) FROM paper_orders)"
expect

plant double_entry "a completed execution gets a second entry order"
sq "$CASE/store.db" "INSERT INTO orders(execution_id, client_order_id, role, symbol, side, type, qty, status, created_at)
    SELECT id, 'planted-' || id || '-9', 'entry', symbol, 'buy', 'market', 10000000000, 'unsent', created_at
    FROM executions WHERE status = 'completed' ORDER BY id LIMIT 1"
expect

plant position_owner "an execution holding a position at the broker is marked completed"
sq "$CASE/store.db" "ATTACH '$CASE/trend.paper' AS t; ATTACH '$CASE/scalper.paper' AS s;
    UPDATE executions SET status = 'completed' WHERE id = (SELECT min(id) FROM ($HELD))"
expect

plant ledger "a completed execution's realized P&L is one unit (1e-8) off"
sq "$CASE/store.db" "UPDATE executions SET realized_pnl = realized_pnl + 1 WHERE id = (SELECT min(id) FROM executions
    WHERE status = 'completed' AND id IN (SELECT execution_id FROM fills))"
expect

plant fill_event "a fill's event is deleted"
sq "$CASE/store.db" "DELETE FROM events WHERE id = (SELECT min(id) FROM events WHERE kind = 'fill')"
expect

plant stale_exit "after a restart, an exit is triggered on a price from before it"
mkdir -p "$CASE/state"
"$CHECK" --db "$CASE/store.db" --account "$CASE/trend.paper=trend" --account "$CASE/scalper.paper=scalper" \
    --state "$CASE/state" --mark-restart 1
sq "$CASE/store.db" "INSERT INTO position_exits(position_id, exit_reason, exit_priority, exit_quantity, exit_price,
        triggered_at, execution_id, status, detail)
    SELECT position_id, 'trailing_stop', 'HIGH', exit_quantity, exit_price,
        (SELECT min(triggered_at) FROM position_exits) - 60000000, execution_id, 'working', 'planted'
    FROM position_exits ORDER BY exit_id DESC LIMIT 1"
expect --state "$CASE/state"

plant lost "an order recorded before a kill is gone after it"
mkdir -p "$CASE/state"
check "$CASE" --state "$CASE/state" >/dev/null
sq "$CASE/store.db" "DELETE FROM orders WHERE id = (SELECT min(id) FROM orders WHERE role = 'take_profit' AND status = 'cancelled')"
expect --state "$CASE/state"

plant lost "the store has no tables (as a kill before the first migration leaves it) while the accounts hold orders"
rm -f "$CASE/store.db" "$CASE/store.db-wal" "$CASE/store.db-shm"
sq "$CASE/store.db" "PRAGMA user_version = 0; VACUUM;"
expect

if [ "$FAILS" -ne 0 ]; then
    echo "$FAILS planted fault(s) not caught as expected"
    exit 1
fi
echo "every planted fault was reported under its invariant, and only there"
