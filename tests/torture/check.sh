#!/usr/bin/env bash
# check.sh: the crash-torture invariant checker.
#
# It reads apex-host's store and paper-account files directly with the sqlite3 CLI and
# recomputes money with bc; it shares no code with the host. It is run while no host
# has the files open (after a SIGKILL, or after a run stopped by itself).
#
#   check.sh --db STORE [--account FILE=PIPELINE[,PIPELINE...]]... [--state DIR]
#            [--final] [--logs 'GLOB'] [--label TEXT] [--examples N] [--quiet]
#            [--stale-basis max|cursor]
#   check.sh --db STORE [--account ...] --state DIR --mark-restart N
#
# --account   which paper-account file each pipeline trades on. Pipelines of the store
#             that are not named default to <STORE>.<pipeline>.paper when it exists.
# --state     a directory the checker keeps between calls: the previous snapshot (for
#             "nothing lost"), broker fills seen in flight, the restart records (for
#             "stale exits") and violations.tsv (one line per violation found now).
# --final     the host stopped by itself (end of data) after a restart that reconciled:
#             nothing may be in flight any more.
# --logs      the host's terminal output; a "broker already knows order" line is a client
#             order id the broker received twice.
# --mark-restart N   records restart N (data time reached and the rows' high-water marks)
#             before the driver starts the host again; prints nothing.
# --stale-basis max|cursor   the data time a restart had reached: the later of the
#             pipeline's cursor and its broker's newest bar (max, the default), or the
#             cursor alone (env STALE_BASIS works too).
#
# Invariants (issue 7, item 7), one line each in the report, then
# "SUMMARY integrity=N duplicate_order=N ..." with the number of violations of each.
# Exit status: 0 all hold, 1 a violation, 2 bad usage or a missing tool.
#
#   integrity        PRAGMA integrity_check is ok on the store and every account file
#   duplicate_order  no client order id was received twice by the broker
#   double_entry     no execution has two entry orders (nor a pipeline two open
#                    executions on one symbol)
#   position_owner   every broker position belongs to exactly one open execution, and
#                    every open quantity of an execution is at the broker; no more exit
#                    quantity working than the position
#   ledger           the fills reconcile to the smallest unit with the broker's fills,
#                    positions and cash, and with executions' and positions' quantities,
#                    realized P&L and fees
#   fill_event       every fill has its event (events.kind = 'fill')
#   stale_exit       nothing after a restart acts on a price older than the restart: exits
#                    triggered, exit orders placed, fills executed
#   lost             nothing recorded before a kill is missing after it; the broker holds
#                    no order the store does not know, and every order the broker accepted
#                    is still at the broker
set -uo pipefail

INVARIANTS="integrity duplicate_order double_entry position_owner ledger fill_event stale_exit lost"
SCALE=100000000
FINAL_STATUSES="'completed','failed','cancelled','skipped'"
WORKING_ORDER="'new','accepted','partially_filled'"

DB=""
STATE=""
FINAL=0
QUIET=0
EXAMPLES=5
LABEL=""
MARK=""
LOG_GLOB=""
STALE_BASIS=${STALE_BASIS:-max}
ACCOUNT_ARGS=()

usage() {
    sed -n '2,/^set -uo/p' "$0" | sed -e '/^set -uo/d' -e 's/^# \{0,1\}//' >&2
    exit 2
}

while [ $# -gt 0 ]; do
    case "$1" in
    --db) DB="$2"; shift 2 ;;
    --account) ACCOUNT_ARGS+=("$2"); shift 2 ;;
    --state) STATE="$2"; shift 2 ;;
    --final) FINAL=1; shift ;;
    --logs) LOG_GLOB="$2"; shift 2 ;;
    --label) LABEL="$2"; shift 2 ;;
    --examples) EXAMPLES="$2"; shift 2 ;;
    --quiet) QUIET=1; shift ;;
    --mark-restart) MARK="$2"; shift 2 ;;
    --stale-basis) STALE_BASIS="$2"; shift 2 ;;
    -h | --help) usage ;;
    *) echo "check.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
done
[ -n "$DB" ] || { echo "check.sh: --db STORE is required" >&2; exit 2; }
for tool in sqlite3 bc; do
    command -v "$tool" >/dev/null || { echo "check.sh: '$tool' is not installed (make deps installs it)" >&2; exit 2; }
done
if [ -n "$MARK" ] && [ -z "$STATE" ]; then
    echo "check.sh: --mark-restart needs --state" >&2
    exit 2
fi
[ -z "$STATE" ] || mkdir -p "$STATE"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/apex-check-XXXXXX")
trap 'rm -rf "$TMP"' EXIT

sql_quote() { printf "'%s'" "${1//\'/\'\'}"; }

# ---- the store and its accounts ------------------------------------------------------

STORE_OK=1
if [ ! -f "$DB" ]; then
    STORE_OK=0
fi

# raw SQL on the store alone, read-only
sq1() { sqlite3 -readonly -batch -noheader -separator $'\t' -cmd ".timeout 10000" "$DB" "$1" 2>"$TMP/sq1.err"; }

PIPELINES=()
if [ "$STORE_OK" = 1 ]; then
    mapfile -t PIPELINES < <(sq1 "SELECT DISTINCT pipeline FROM executions UNION SELECT pipeline FROM cursors ORDER BY 1" 2>/dev/null)
fi

# Accounts: ACC_FILE[i], and "pipeline<TAB>i" pairs in PMAP.
ACC_FILE=()
PMAP=()
declare -A MAPPED=()
for a in "${ACCOUNT_ARGS[@]+"${ACCOUNT_ARGS[@]}"}"; do
    file="${a%%=*}"
    pipes="${a#*=}"
    [ "$file" != "$a" ] || { echo "check.sh: --account wants FILE=PIPELINE[,PIPELINE]" >&2; exit 2; }
    idx=""
    for i in "${!ACC_FILE[@]}"; do [ "${ACC_FILE[$i]}" = "$file" ] && idx=$i; done
    if [ -z "$idx" ]; then
        ACC_FILE+=("$file")
        idx=$((${#ACC_FILE[@]} - 1))
    fi
    IFS=',' read -r -a plist <<<"$pipes"
    for p in "${plist[@]}"; do
        PMAP+=("$p"$'\t'"$idx")
        MAPPED[$p]=1
    done
done
for p in "${PIPELINES[@]+"${PIPELINES[@]}"}"; do
    [ -n "${MAPPED[$p]:-}" ] && continue
    f="$DB.$p.paper"
    if [ -f "$f" ]; then
        ACC_FILE+=("$f")
        PMAP+=("$p"$'\t'"$((${#ACC_FILE[@]} - 1))")
        MAPPED[$p]=1
    fi
done

# Which account files can be read as paper accounts.
ACC_OK=()
for i in "${!ACC_FILE[@]}"; do
    ACC_OK[$i]=0
    f="${ACC_FILE[$i]}"
    if [ -f "$f" ] && sqlite3 -readonly -batch -noheader "$f" \
        "SELECT count(*) FROM paper_orders, paper_account LIMIT 1" >/dev/null 2>&1; then
        ACC_OK[$i]=1
    fi
done

# The preamble every query runs behind: accounts attached as a0, a1, ...; the broker's
# tables of all accounts as temp views with an `acc` column; pipeline -> account.
PRE=""
views_orders=""
views_fills=""
views_pos=""
views_acct=""
sep() { [ -n "$1" ] && printf ' UNION ALL '; }
for i in "${!ACC_FILE[@]}"; do
    [ "${ACC_OK[$i]}" = 1 ] || continue
    PRE+="ATTACH $(sql_quote "${ACC_FILE[$i]}") AS a$i;"
    views_orders+="$(sep "$views_orders")SELECT $i AS acc, * FROM a$i.paper_orders"
    views_fills+="$(sep "$views_fills")SELECT $i AS acc, rowid AS rid, * FROM a$i.paper_fills"
    views_pos+="$(sep "$views_pos")SELECT $i AS acc, * FROM a$i.paper_positions"
    views_acct+="$(sep "$views_acct")SELECT $i AS acc, * FROM a$i.paper_account"
done
empty_orders="SELECT 0 AS acc, '' AS seq, '' AS client_order_id, '' AS broker_order_id, '' AS parent_client_order_id, '' AS symbol, '' AS side, '' AS type, '' AS role, '' AS status, 0 AS qty, 0 AS filled_qty, 0 AS avg_fill_price, 0 AS limit_price, 0 AS stop_price, 0 AS take_profit, 0 AS stop_loss, 0 AS triggered, 0 AS market_pending, 0 AS nfills, 0 AS active_after, 0 AS created_at, 0 AS updated_at, '' AS reason WHERE 0"
empty_fills="SELECT 0 AS acc, 0 AS rid, '' AS fill_id, '' AS client_order_id, '' AS symbol, '' AS side, 0 AS qty, 0 AS price, 0 AS fee, 0 AS ts WHERE 0"
empty_pos="SELECT 0 AS acc, '' AS symbol, 0 AS qty, 0 AS avg_price, 0 AS opened_day WHERE 0"
empty_acct="SELECT 0 AS acc, 1 AS id, 0 AS cash, 0 AS realized_today, 0 AS pnl_day, 0 AS last_bar_ts, 0 AS starting_cash WHERE 0"
PRE+="CREATE TEMP VIEW b_orders AS ${views_orders:-$empty_orders};"
PRE+="CREATE TEMP VIEW b_fills AS ${views_fills:-$empty_fills};"
PRE+="CREATE TEMP VIEW b_pos AS ${views_pos:-$empty_pos};"
PRE+="CREATE TEMP VIEW b_acct AS ${views_acct:-$empty_acct};"
PRE+="CREATE TEMP TABLE pmap(pipeline TEXT PRIMARY KEY, acc INTEGER);"
for pm in "${PMAP[@]+"${PMAP[@]}"}"; do
    p="${pm%%$'\t'*}"
    i="${pm#*$'\t'}"
    [ "${ACC_OK[$i]}" = 1 ] || continue
    PRE+="INSERT OR REPLACE INTO pmap VALUES ($(sql_quote "$p"), $i);"
done
# Store orders with the account their pipeline trades on.
PRE+="CREATE TEMP VIEW xo AS SELECT o.*, x.pipeline AS pipeline, m.acc AS acc FROM orders o
      LEFT JOIN executions x ON x.id = o.execution_id LEFT JOIN pmap m ON m.pipeline = x.pipeline;"
# Broker fills not (yet) in the store's ledger, with their execution.
PRE+="CREATE TEMP VIEW inflight AS SELECT f.*, o.execution_id AS execution_id, o.pipeline AS pipeline
      FROM b_fills f JOIN xo o ON o.acc = f.acc AND o.client_order_id = f.client_order_id
      WHERE NOT EXISTS (SELECT 1 FROM fills s WHERE s.order_client_id = f.client_order_id
                        AND s.fill_id = f.fill_id);"
# Executions with their account and open quantity: the store's fills plus fills the
# broker made that the store has not recorded yet.
PRE+="CREATE TEMP VIEW ex AS SELECT x.id AS id, x.pipeline AS pipeline, x.symbol AS symbol,
      x.status AS status, m.acc AS acc, x.status IN ($FINAL_STATUSES) AS fin,
      coalesce((SELECT sum(CASE s.side WHEN 'buy' THEN s.qty ELSE -s.qty END) FROM fills s
                WHERE s.execution_id = x.id), 0)
      + coalesce((SELECT sum(CASE i.side WHEN 'buy' THEN i.qty ELSE -i.qty END) FROM inflight i
                  WHERE i.execution_id = x.id), 0) AS net
      FROM executions x JOIN pmap m ON m.pipeline = x.pipeline;"

# Query with the preamble. Errors go to $TMP/sq.err (the caller decides what they mean).
sq() { sqlite3 -readonly -batch -noheader -separator $'\t' -cmd ".timeout 10000" "$DB" "$PRE $1" 2>"$TMP/sq.err"; }

qty() { # 1e8-scaled integer -> readable decimal
    local v="$1" s=""
    [ "${v:0:1}" = "-" ] && { s="-"; v="${v:1}"; }
    v=$(printf '%09d' "$v")
    local int="${v:0:${#v}-8}" frac="${v: -8}"
    while [ -n "$frac" ] && [ "${frac: -1}" = 0 ]; do frac="${frac:0:${#frac}-1}"; done
    [ -n "$frac" ] && echo "$s$((10#$int)).$frac" || echo "$s$((10#$int))"
}

# ---- --mark-restart ------------------------------------------------------------------
#
# A restart record says how far the system had got before the kill: per pipeline, its
# cursor and the newest bar its broker had seen, and the high-water marks of the rows a
# restarted host adds. Every exit, exit order and broker fill above the marks must be
# stamped at or after the later of the two times (--stale-basis cursor: the cursor alone).
if [ -n "$MARK" ]; then
    [ "$STORE_OK" = 1 ] || exit 0
    out=$(sq "SELECT p.pipeline,
                 coalesce((SELECT last_ts FROM cursors c WHERE c.pipeline = p.pipeline), 0),
                 coalesce((SELECT last_bar_ts FROM b_acct a WHERE a.acc = p.acc), 0),
                 (SELECT coalesce(max(exit_id), 0) FROM position_exits),
                 (SELECT coalesce(max(attempt_id), 0) FROM exit_attempts),
                 (SELECT coalesce(max(rid), 0) FROM b_fills f WHERE f.acc = p.acc),
                 p.acc
             FROM pmap p ORDER BY 1") || { cat "$TMP/sq.err" >&2; exit 2; }
    while IFS=$'\t' read -r p cur bar mx ma mf acc; do
        [ -n "$p" ] || continue
        printf 'R\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$MARK" "$p" "$cur" "$bar" "$mx" "$ma" "$mf" "$acc" >>"$STATE/restarts.tsv"
    done <<<"$out"
    exit 0
fi

# ---- reporting -----------------------------------------------------------------------

declare -A COUNT=()
for inv in $INVARIANTS; do COUNT[$inv]=0; done
: >"$TMP/violations.tsv"

# violation INVARIANT KEY TEXT: KEY identifies the fault across checks (for counting
# distinct violations over a torture run); TEXT explains it.
violation() {
    COUNT[$1]=$((COUNT[$1] + 1))
    printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$TMP/violations.tsv"
}

# ---- integrity -------------------------------------------------------------------------

check_file_integrity() {
    local f="$1" what="$2" r
    if [ ! -f "$f" ]; then
        violation integrity "missing:$what" "$what $f does not exist"
        return
    fi
    r=$(sqlite3 -readonly -batch -noheader -cmd ".timeout 10000" "$f" "PRAGMA integrity_check" 2>&1 | head -20)
    if [ "$r" != "ok" ]; then
        violation integrity "corrupt:$what" "$what $f: $(tr '\n' ';' <<<"$r" | cut -c1-300)"
    fi
}
check_file_integrity "$DB" "store"
# Orders the store says were sent to account i (0 when the store is not there).
sent_to_account() {
    local i="$1" p list="" n
    [ "$STORE_OK" = 1 ] || { echo 0; return; }
    for p in "${PMAP[@]+"${PMAP[@]}"}"; do
        [ "${p##*$'\t'}" = "$i" ] && list+="${list:+,}$(sql_quote "${p%%$'\t'*}")"
    done
    [ -n "$list" ] || { echo 0; return; }
    n=$(sq1 "SELECT count(*) FROM orders o JOIN executions e ON e.id = o.execution_id WHERE o.status != 'unsent' AND e.pipeline IN ($list)")
    echo "${n:-0}"
}
for i in "${!ACC_FILE[@]}"; do
    # A host killed before it opened the account (no file) or before it created the
    # account's tables (an empty file) sent nothing to it.
    if { [ ! -f "${ACC_FILE[$i]}" ] || [ "${ACC_OK[$i]}" != 1 ]; } && [ "$(sent_to_account "$i")" = 0 ]; then
        continue
    fi
    check_file_integrity "${ACC_FILE[$i]}" "account a$i"
    if [ -f "${ACC_FILE[$i]}" ] && [ "${ACC_OK[$i]}" != 1 ]; then
        violation integrity "unreadable:a$i" "account a$i ${ACC_FILE[$i]} has no paper-account tables"
    fi
done

# A host killed before its first migration committed (a loaded machine can take that
# long) leaves a store with no tables: it recorded nothing, so no account may hold an
# order either.
if [ "$STORE_OK" = 1 ] && [ "$(sq1 "PRAGMA user_version")" = 0 ] &&
    [ "$(sq1 "SELECT count(*) FROM sqlite_master")" = 0 ]; then
    STORE_OK=0
    for i in "${!ACC_FILE[@]}"; do
        [ "${ACC_OK[$i]}" = 1 ] || continue
        n=$(sqlite3 -readonly -batch -noheader -cmd ".timeout 10000" "${ACC_FILE[$i]}" \
            "SELECT count(*) FROM paper_orders" 2>/dev/null)
        [ "${n:-0}" = 0 ] ||
            violation lost "empty-store:a$i" "account a$i holds $n order(s) but the store has no tables (no migration committed)"
    done
fi

# Everything else needs a readable store.
if [ "$STORE_OK" = 1 ] && ! sq "SELECT 1 FROM executions, orders, fills, events LIMIT 1" >/dev/null; then
    violation integrity "unreadable:store" "the store cannot be read: $(head -c 300 "$TMP/sq.err")"
    STORE_OK=0
fi

# rows QUERY INVARIANT KEYFMT TEXTFMT: one violation per row; fields are $1.. in the
# formats (evaluated by awk-free bash: the formats are bash code run with the row's
# fields as positional parameters).
each_row() {
    local query="$1" inv="$2" body="$3" line
    local out
    out=$(sq "$query")
    if [ $? -ne 0 ]; then
        violation "$inv" "query-error" "checker query failed: $(head -c 300 "$TMP/sq.err")"
        return
    fi
    while IFS= read -r line; do
        [ -n "$line" ] || continue
        IFS=$'\t' read -r -a F <<<"$line"
        eval "$body"
    done <<<"$out"
}

if [ "$STORE_OK" = 1 ]; then

# ---- duplicate_order -------------------------------------------------------------------

each_row "SELECT acc, client_order_id, count(*) FROM b_orders GROUP BY 1, 2 HAVING count(*) > 1" \
    duplicate_order 'violation duplicate_order "twice:a${F[0]}:${F[1]}" "account a${F[0]} holds order ${F[1]} ${F[2]} times"'
# The paper broker numbers each order it accepts; the id the host was told on acceptance
# and the one the account has now differ only if the order was accepted again.
each_row "SELECT o.client_order_id, o.broker_order_id, b.broker_order_id, b.acc FROM xo o
          JOIN b_orders b ON b.acc = o.acc AND b.client_order_id = o.client_order_id
          WHERE coalesce(o.broker_order_id, '') <> '' AND b.broker_order_id <> o.broker_order_id" \
    duplicate_order 'violation duplicate_order "renumbered:${F[0]}" "order ${F[0]} was accepted as ${F[1]} but account a${F[3]} now has it as ${F[2]}"'
each_row "SELECT b.acc, b.client_order_id, b.qty, sum(f.qty), count(*) FROM b_orders b
          JOIN b_fills f ON f.acc = b.acc AND f.client_order_id = b.client_order_id
          GROUP BY b.acc, b.client_order_id HAVING sum(f.qty) > b.qty" \
    duplicate_order 'violation duplicate_order "overfilled:${F[1]}" "order ${F[1]} of $(qty ${F[2]}) was filled $(qty ${F[3]}) in ${F[4]} fills at account a${F[0]}"'
if [ -n "$LOG_GLOB" ]; then
    # shellcheck disable=SC2086
    while read -r coid; do
        [ -n "$coid" ] && violation duplicate_order "resent:$coid" "the host sent order $coid again and the broker answered that it already knows it"
    done < <(grep -ho "broker already knows order [^ ;]*" $LOG_GLOB 2>/dev/null | awk '{print $5}' | sort -u)
fi

# ---- double_entry ----------------------------------------------------------------------

each_row "SELECT execution_id, count(*), group_concat(client_order_id || ' ' || status, ', ')
          FROM orders WHERE role = 'entry' GROUP BY 1 HAVING count(*) > 1" \
    double_entry 'violation double_entry "exec:${F[0]}" "execution ${F[0]} has ${F[1]} entry orders: ${F[2]}"'
each_row "SELECT pipeline, symbol, count(*), group_concat(id || ' ' || status, ', ') FROM executions
          WHERE status NOT IN ($FINAL_STATUSES) GROUP BY 1, 2 HAVING count(*) > 1" \
    double_entry 'violation double_entry "open:${F[0]}:${F[1]}:${F[3]%% *}" "pipeline ${F[0]} has ${F[2]} open executions on ${F[1]}: ${F[3]}"'

# ---- position_owner ----------------------------------------------------------------------

# Each broker position: the executions with an open quantity in it, on that account.
each_row "SELECT p.acc, p.symbol, p.qty, count(e.id), coalesce(sum(NOT e.fin), 0),
                 coalesce(group_concat(e.id || ' ' || e.status || ' ' || (e.net / $SCALE), ', '), 'none')
          FROM b_pos p LEFT JOIN ex e ON e.acc = p.acc AND e.symbol = p.symbol AND e.net <> 0
          WHERE p.qty <> 0 GROUP BY p.acc, p.symbol
          HAVING count(e.id) <> 1 OR coalesce(sum(NOT e.fin), 0) <> 1" \
    position_owner 'violation position_owner "pos:a${F[0]}:${F[1]}" "account a${F[0]} holds $(qty ${F[2]}) ${F[1]}, owned by ${F[3]} execution(s) (${F[4]} open): ${F[5]}"'
# Each execution with an open quantity: the broker must hold it, and the execution be open.
each_row "SELECT e.id, e.pipeline, e.symbol, e.status, e.net, coalesce(p.qty, 0), e.acc FROM ex e
          LEFT JOIN b_pos p ON p.acc = e.acc AND p.symbol = e.symbol
          WHERE e.net <> 0 AND (p.qty IS NULL OR p.qty = 0 OR (p.qty > 0) <> (e.net > 0))" \
    position_owner 'violation position_owner "exec:${F[0]}" "execution ${F[0]} (${F[1]} ${F[2]}, ${F[3]}) holds $(qty ${F[4]}) by its fills but account a${F[6]} holds $(qty ${F[5]})"'
# Never more closing quantity working at the broker than the position: the legs of one
# bracket are one-cancels-other, so a bracket counts once.
each_row "WITH w AS (SELECT o.execution_id AS e, b.parent_client_order_id AS par, b.side AS side,
                            b.qty - b.filled_qty AS rem, b.client_order_id AS coid
                     FROM b_orders b JOIN xo o ON o.acc = b.acc AND o.client_order_id = b.client_order_id
                     WHERE b.status IN ($WORKING_ORDER)),
               k AS (SELECT e, side, max(rem) AS rem, group_concat(coid, '|') AS ids FROM w WHERE par <> '' GROUP BY e, par, side
                     UNION ALL SELECT e, side, rem, coid FROM w WHERE par = '')
          SELECT x.id, x.symbol, x.net, sum(k.rem), group_concat(k.ids, ', ') FROM ex x
          JOIN k ON k.e = x.id AND k.side = CASE WHEN x.net > 0 THEN 'sell' ELSE 'buy' END
          WHERE x.net <> 0 GROUP BY x.id HAVING sum(k.rem) > abs(x.net)" \
    position_owner 'violation position_owner "oversell:${F[0]}" "execution ${F[0]} (${F[1]}) has $(qty ${F[3]}) working to close a position of $(qty ${F[2]}): ${F[4]}"'
if [ "$FINAL" = 1 ]; then
    each_row "SELECT e.id, e.status, b.client_order_id, b.status, b.acc FROM ex e
              JOIN xo o ON o.execution_id = e.id JOIN b_orders b ON b.acc = o.acc AND b.client_order_id = o.client_order_id
              WHERE e.fin AND b.status IN ($WORKING_ORDER)" \
        position_owner 'violation position_owner "orphan:${F[2]}" "order ${F[2]} is ${F[3]} at account a${F[4]} but its execution ${F[0]} is ${F[1]}: nobody watches it"'
fi

# ---- ledger ------------------------------------------------------------------------------

# (a) every fill of the store is the broker's fill, to the unit
each_row "SELECT s.id, s.order_client_id, s.fill_id, s.execution_id, m.acc,
                 b.fill_id IS NULL, s.side || ' ' || s.qty || ' @ ' || s.price || ' fee ' || s.fee,
                 coalesce(b.side || ' ' || b.qty || ' @ ' || b.price || ' fee ' || b.fee, '')
          FROM fills s LEFT JOIN executions x ON x.id = s.execution_id LEFT JOIN pmap m ON m.pipeline = x.pipeline
          LEFT JOIN b_fills b ON b.acc = m.acc AND b.client_order_id = s.order_client_id AND b.fill_id = s.fill_id
          WHERE m.acc IS NOT NULL AND (b.fill_id IS NULL OR b.side <> s.side OR b.qty <> s.qty
                OR b.price <> s.price OR b.fee <> s.fee)" \
    ledger 'if [ "${F[5]}" = 1 ]; then violation ledger "nofill:${F[1]}:${F[2]}" "fill ${F[2]} of ${F[1]} (execution ${F[3]}) is not at account a${F[4]}"; else violation ledger "fillmismatch:${F[1]}:${F[2]}" "fill ${F[2]} of ${F[1]}: store ${F[6]}, broker ${F[7]}"; fi'
each_row "SELECT s.id, s.fill_id, coalesce(s.execution_id, 'NULL') FROM fills s LEFT JOIN executions x ON x.id = s.execution_id
          WHERE x.id IS NULL" \
    ledger 'violation ledger "orphanfill:${F[1]}" "fill ${F[1]} belongs to execution ${F[2]}, which does not exist"'

# (b) the broker's positions are its fills
each_row "WITH n AS (SELECT acc, symbol, sum(CASE side WHEN 'buy' THEN qty ELSE -qty END) AS q FROM b_fills GROUP BY 1, 2),
               k AS (SELECT acc, symbol FROM n UNION SELECT acc, symbol FROM b_pos)
          SELECT k.acc, k.symbol, coalesce(n.q, 0), coalesce(p.qty, 0) FROM k
          LEFT JOIN n ON n.acc = k.acc AND n.symbol = k.symbol LEFT JOIN b_pos p ON p.acc = k.acc AND p.symbol = k.symbol
          WHERE coalesce(n.q, 0) <> coalesce(p.qty, 0)" \
    ledger 'violation ledger "brokerpos:a${F[0]}:${F[1]}" "account a${F[0]} ${F[1]}: its fills net $(qty ${F[2]}) but its position is $(qty ${F[3]})"'

# (c) every broker fill of our orders reaches the store: at a kill a fill may be between
# the broker's commit and the host's; it must be recovered by the next restart that got
# past its reconciliation (its pipeline's cursor moved), and at the end.
inflight_now=$(sq "SELECT i.acc, i.client_order_id, i.fill_id, i.pipeline,
                          coalesce((SELECT last_ts FROM cursors c WHERE c.pipeline = i.pipeline), 0), i.execution_id
                   FROM inflight i ORDER BY 1, 2, 3") || violation ledger query-error "inflight query failed: $(head -c 300 "$TMP/sq.err")"
declare -A SEEN_AT=()
if [ -n "$STATE" ] && [ -f "$STATE/inflight.tsv" ]; then
    while IFS=$'\t' read -r acc coid fid pipe cur exe; do
        [ -n "$coid" ] && SEEN_AT["$acc:$coid:$fid"]="$cur"
    done <"$STATE/inflight.tsv"
fi
: >"$TMP/inflight.tsv"
while IFS=$'\t' read -r acc coid fid pipe cur exe; do
    [ -n "$coid" ] || continue
    key="$acc:$coid:$fid"
    first="${SEEN_AT[$key]:-}"
    if [ "$FINAL" = 1 ]; then
        violation ledger "unrecorded:$coid:$fid" "broker fill $fid of $coid (execution $exe) is not in the store at the end"
    elif [ -n "$first" ] && [ "$cur" -gt "$first" ]; then
        violation ledger "unrecorded:$coid:$fid" "broker fill $fid of $coid (execution $exe) is still not in the store after a restart that traded on (cursor $first -> $cur)"
    else
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$acc" "$coid" "$fid" "$pipe" "${first:-$cur}" "$exe" >>"$TMP/inflight.tsv"
    fi
done <<<"$inflight_now"
INFLIGHT=$(grep -c . "$TMP/inflight.tsv")

# (d) money, recomputed with bc (arbitrary precision, the documented rules): average-cost
# ledger per execution, fees charged to realized P&L, products rounded half to even at 1e-8;
# the account's cash is its starting cash plus every fill's proceeds less cost and fees.
{
    cat <<'EOF'
scale = 0
define rd(n, d) {
  auto q, m, t
  if (d < 0) { n = -n; d = -d; }
  q = n / d
  m = n % d
  if (m == 0) return (q)
  t = m * 2
  if (t < 0) t = -t
  if (t > d || (t == d && q % 2 != 0)) {
    if (n < 0) { q = q - 1; } else { q = q + 1; }
  }
  return (q)
}
define ap(s, x, p, e) {
  auto g, red, ao, rel, pr, op, c
  if (s == 0) { g = x; } else { g = -x; }
  red = 0
  ao = q
  if (ao < 0) ao = -ao
  if (q > 0 && g < 0) { if (x < ao) { red = x; } else { red = ao; } }
  if (q < 0 && g > 0) { if (x < ao) { red = x; } else { red = ao; } }
  if (red > 0) {
    if (red == ao) { rel = b; } else { rel = rd(b * red, ao); }
    pr = rd(p * red, 100000000)
    if (q < 0) pr = -pr
    r = r + pr - rel
    b = b - rel
    if (q > 0) { q = q - red; } else { q = q + red; }
  }
  op = x - red
  if (op > 0) {
    c = rd(p * op, 100000000)
    if (g > 0) { b = b + c; q = q + op; } else { b = b - c; q = q - op; }
  }
  r = r - e
  f = f + e
  return (0)
}
EOF
    sq "SELECT CASE WHEN rn = 1 THEN 'q=0;b=0;r=0;f=0' || char(10) ELSE '' END ||
               'z=ap(' || (side = 'sell') || ',' || qty || ',' || price || ',' || fee || ')' ||
               CASE WHEN rn = cnt THEN char(10) || 'print \"E ' || execution_id || ' \", q, \" \", r, \" \", f, \"\\n\"' ELSE '' END
        FROM (SELECT *, row_number() OVER (PARTITION BY execution_id ORDER BY id) AS rn,
                     count(*) OVER (PARTITION BY execution_id) AS cnt
              FROM fills WHERE execution_id IS NOT NULL) ORDER BY execution_id, id"
    sq "SELECT CASE WHEN rn = 1 THEN 'c=' || st || char(10) ELSE '' END ||
               CASE WHEN fill_id IS NULL THEN '' ELSE
               'c=c' || CASE side WHEN 'buy' THEN '-' ELSE '+' END || 'rd(' || qty || '*' || price || ',100000000)-' || fee END ||
               CASE WHEN rn = cnt THEN char(10) || 'print \"C ' || acc || ' \", c, \"\\n\"' ELSE '' END
        FROM (SELECT a.acc, a.starting_cash AS st, f.fill_id, f.side, f.qty, f.price, f.fee,
                     row_number() OVER (PARTITION BY a.acc ORDER BY f.rid) AS rn,
                     count(*) OVER (PARTITION BY a.acc) AS cnt
              FROM b_acct a LEFT JOIN b_fills f ON f.acc = a.acc) ORDER BY acc, rn"
} >"$TMP/ledger.bc"
if ! BC_LINE_LENGTH=0 bc -q "$TMP/ledger.bc" </dev/null >"$TMP/ledger.out" 2>"$TMP/bc.err" || [ -s "$TMP/bc.err" ]; then
    violation ledger "bc-error" "the ledger replay failed: $(head -c 300 "$TMP/bc.err")"
fi
declare -A L_QTY=() L_REAL=() L_FEES=() L_CASH=()
while read -r tag id a b c; do
    case "$tag" in
    E) L_QTY[$id]=$a; L_REAL[$id]=$b; L_FEES[$id]=$c ;;
    C) L_CASH[$id]=$a ;;
    esac
done <"$TMP/ledger.out"
# executions against their fills
rows=$(sq "SELECT x.id, x.symbol, x.status, x.realized_pnl, x.fees,
                  coalesce(sum(CASE WHEN p.status = 'open' THEN (CASE p.side WHEN 'sell' THEN -p.quantity ELSE p.quantity END) END), 0),
                  coalesce(sum(p.realized_pnl), 0), count(p.position_id),
                  coalesce(sum(p.status = 'closed' AND p.quantity <> 0), 0)
           FROM executions x LEFT JOIN positions p ON p.execution_id = x.id GROUP BY x.id ORDER BY x.id") ||
    violation ledger query-error "executions query failed: $(head -c 300 "$TMP/sq.err")"
while IFS=$'\t' read -r id sym st xr xf openq pr npos closedq; do
    [ -n "$id" ] || continue
    lq=${L_QTY[$id]:-0} lr=${L_REAL[$id]:-0} lf=${L_FEES[$id]:-0}
    [ "$lq" = "$openq" ] || violation ledger "qty:$id" "execution $id ($sym, $st): fills hold $(qty "$lq") but its open position holds $(qty "$openq")"
    [ "$lr" = "$xr" ] || violation ledger "realized:$id" "execution $id ($sym, $st): fills give realized P&L $(qty "$lr") but executions.realized_pnl is $(qty "$xr")"
    [ "$lf" = "$xf" ] || violation ledger "fees:$id" "execution $id ($sym, $st): fills give fees $(qty "$lf") but executions.fees is $(qty "$xf")"
    if [ "$npos" -gt 0 ] && [ "$lr" != "$pr" ]; then
        violation ledger "posrealized:$id" "execution $id ($sym, $st): fills give realized P&L $(qty "$lr") but its positions say $(qty "$pr")"
    fi
    if [ "$npos" = 0 ] && [ -n "${L_QTY[$id]:-}" ]; then
        violation ledger "nopos:$id" "execution $id ($sym, $st) has fills but no position row"
    fi
    [ "$closedq" = 0 ] || violation ledger "closedqty:$id" "execution $id ($sym, $st): a closed position still has a quantity"
done <<<"$rows"
# the broker's cash against its fills
while IFS=$'\t' read -r acc cash; do
    [ -n "$acc" ] || continue
    want=${L_CASH[$acc]:-}
    [ -n "$want" ] && [ "$want" = "$cash" ] ||
        violation ledger "cash:a$acc" "account a$acc: cash is $(qty "$cash") but its starting cash and fills give $(qty "${want:-0}")"
done < <(sq "SELECT acc, cash FROM b_acct")

# ---- fill_event --------------------------------------------------------------------------

# An event of kind 'fill' carries the fill's execution and time; a fill is matched by
# those (the message has no fill id), so the count per (execution, time) must cover it.
each_row "WITH f AS (SELECT execution_id AS e, ts, count(*) AS n, group_concat(fill_id, ' ') AS ids FROM fills GROUP BY 1, 2),
               v AS (SELECT execution_id AS e, ts, count(*) AS n FROM events WHERE kind = 'fill' GROUP BY 1, 2)
          SELECT f.e, f.ts, f.n, coalesce(v.n, 0), f.ids, datetime(f.ts / 1000000, 'unixepoch')
          FROM f LEFT JOIN v ON v.e IS f.e AND v.ts = f.ts WHERE f.n > coalesce(v.n, 0)" \
    fill_event 'for ((k = ${F[3]}; k < ${F[2]}; k++)); do violation fill_event "noevent:${F[0]}:${F[1]}:$k" "execution ${F[0]}: fill(s) ${F[4]} at ${F[5]}: ${F[2]} fill(s), ${F[3]} fill event(s)"; done'

# ---- stale_exit --------------------------------------------------------------------------

if [ -n "$STATE" ] && [ -s "$STATE/restarts.tsv" ]; then
    RPRE="CREATE TEMP TABLE rs(n INTEGER, pipeline TEXT, t INTEGER, mx INTEGER, ma INTEGER, mf INTEGER, acc INTEGER);"
    while IFS=$'\t' read -r tag n p cur bar mx ma mf acc; do
        [ "$tag" = R ] || continue
        t=$cur
        [ "$STALE_BASIS" = cursor ] || [ "$bar" -le "$cur" ] || t=$bar
        RPRE+="INSERT INTO rs VALUES ($n, $(sql_quote "$p"), $t, $mx, $ma, $mf, $acc);"
    done <"$STATE/restarts.tsv"
    # rows created during run n are those above restart n's marks and not above restart
    # n+1's; each is held to restart n's data time.
    RPRE+="CREATE TEMP VIEW rn AS SELECT r.*,
             coalesce((SELECT min(s.mx) FROM rs s WHERE s.n > r.n AND s.pipeline = r.pipeline), 9e18) AS nx,
             coalesce((SELECT min(s.ma) FROM rs s WHERE s.n > r.n AND s.pipeline = r.pipeline), 9e18) AS na,
             coalesce((SELECT min(s.mf) FROM rs s WHERE s.n > r.n AND s.pipeline = r.pipeline), 9e18) AS nf
           FROM rs r;"
    PRE_SAVED="$PRE"
    PRE="$PRE $RPRE"
    each_row "SELECT e.exit_id, x.id, x.pipeline, x.symbol, e.exit_reason, e.status, r.n,
                     datetime(e.triggered_at / 1000000, 'unixepoch'), datetime(r.t / 1000000, 'unixepoch')
              FROM position_exits e JOIN executions x ON x.id = e.execution_id
              JOIN rn r ON r.pipeline = x.pipeline AND e.exit_id > r.mx AND e.exit_id <= r.nx
              WHERE e.triggered_at < r.t" \
        stale_exit 'violation stale_exit "exit:${F[0]}" "exit ${F[0]} (${F[4]}, ${F[5]}) of execution ${F[1]} (${F[2]} ${F[3]}) triggered at ${F[7]}, before restart ${F[6]} had reached ${F[8]}"'
    each_row "SELECT a.attempt_id, a.client_order_id, x.id, x.pipeline, x.symbol, r.n,
                     datetime(a.placed_at / 1000000, 'unixepoch'), datetime(r.t / 1000000, 'unixepoch')
              FROM exit_attempts a JOIN position_exits e ON e.exit_id = a.exit_id JOIN executions x ON x.id = e.execution_id
              JOIN rn r ON r.pipeline = x.pipeline AND a.attempt_id > r.ma AND a.attempt_id <= r.na
              WHERE a.placed_at < r.t" \
        stale_exit 'violation stale_exit "attempt:${F[0]}" "exit order ${F[1]} of execution ${F[2]} (${F[3]} ${F[4]}) placed at ${F[6]}, before restart ${F[5]} had reached ${F[7]}"'
    each_row "SELECT f.fill_id, f.client_order_id, o.execution_id, o.pipeline, f.symbol, r.n,
                     datetime(f.ts / 1000000, 'unixepoch'), datetime(r.t / 1000000, 'unixepoch'), o.role
              FROM b_fills f JOIN xo o ON o.acc = f.acc AND o.client_order_id = f.client_order_id
              JOIN rn r ON r.pipeline = o.pipeline AND r.acc = f.acc AND f.rid > r.mf AND f.rid <= r.nf
              WHERE f.ts < r.t" \
        stale_exit 'violation stale_exit "fill:${F[1]}:${F[0]}" "fill ${F[0]} of ${F[8]} order ${F[1]} (execution ${F[2]}, ${F[3]} ${F[4]}) executed at ${F[6]}, before restart ${F[5]} had reached ${F[7]}"'
    PRE="$PRE_SAVED"
fi

# ---- lost --------------------------------------------------------------------------------

each_row "SELECT b.acc, b.client_order_id, b.symbol, b.status FROM b_orders b
          WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.client_order_id = b.client_order_id)" \
    lost 'violation lost "stray:a${F[0]}:${F[1]}" "account a${F[0]} has order ${F[1]} (${F[2]}, ${F[3]}) that the store does not know"'
each_row "SELECT o.client_order_id, o.broker_order_id, o.acc, o.status FROM xo o
          WHERE o.acc IS NOT NULL AND coalesce(o.broker_order_id, '') <> ''
          AND NOT EXISTS (SELECT 1 FROM b_orders b WHERE b.acc = o.acc AND b.client_order_id = o.client_order_id)" \
    lost 'violation lost "gone:${F[0]}" "order ${F[0]} (accepted as ${F[1]}, ${F[3]} in the store) is not at account a${F[2]} any more"'

# The snapshot: every row a later check must still find, as one sorted line per fact.
snapshot() {
    sq "SELECT 'X ' || id FROM executions
        UNION ALL SELECT 'XF ' || id || ' ' || status FROM executions WHERE status IN ($FINAL_STATUSES)
        UNION ALL SELECT 'O ' || client_order_id FROM orders
        UNION ALL SELECT 'OF ' || client_order_id || ' ' || status FROM orders
                  WHERE status IN ('filled','cancelled','rejected','expired','unsent')
        UNION ALL SELECT 'F ' || order_client_id || ' ' || fill_id || ' ' || side || ' ' || qty || ' ' || price || ' ' || fee FROM fills
        UNION ALL SELECT 'P ' || position_id FROM positions
        UNION ALL SELECT 'PX ' || exit_id FROM position_exits
        UNION ALL SELECT 'PA ' || attempt_id FROM exit_attempts
        UNION ALL SELECT 'EV ' || id FROM events
        UNION ALL SELECT 'BO ' || acc || ' ' || client_order_id FROM b_orders
        UNION ALL SELECT 'BF ' || acc || ' ' || fill_id || ' ' || client_order_id || ' ' || qty || ' ' || price || ' ' || fee FROM b_fills" |
        LC_ALL=C sort
}
if [ -n "$STATE" ]; then
    if snapshot >"$TMP/snapshot.txt"; then
        if [ -f "$STATE/snapshot.txt" ]; then
            LC_ALL=C comm -23 "$STATE/snapshot.txt" "$TMP/snapshot.txt" >"$TMP/missing.txt"
            # A final status that changed is reported only if the row itself is still there.
            while read -r kind a b rest; do
                case "$kind" in
                X) violation lost "X:$a" "execution $a is gone" ;;
                XF) grep -q "^X $a\$" "$TMP/snapshot.txt" && violation lost "XF:$a" "execution $a was $b and is not any more" ;;
                O) violation lost "O:$a" "order $a is gone from the store" ;;
                OF) grep -q "^O $a\$" "$TMP/snapshot.txt" && violation lost "OF:$a" "order $a was $b and is not any more" ;;
                F) violation lost "F:$a:$b" "fill $b of order $a is gone from the store or changed" ;;
                P) violation lost "P:$a" "position $a is gone" ;;
                PX) violation lost "PX:$a" "exit $a is gone" ;;
                PA) violation lost "PA:$a" "exit attempt $a is gone" ;;
                EV) violation lost "EV:$a" "event $a is gone" ;;
                BO) violation lost "BO:$a:$b" "order $b is gone from account a$a" ;;
                BF) violation lost "BF:$a:$b" "fill $b ($rest) is gone from account a$a or changed" ;;
                esac
            done <"$TMP/missing.txt"
        fi
    else
        violation lost "query-error" "snapshot query failed: $(head -c 300 "$TMP/sq.err")"
    fi
fi

fi # STORE_OK

# ---- report ------------------------------------------------------------------------------

total=0
for inv in $INVARIANTS; do total=$((total + COUNT[$inv])); done
if [ "$QUIET" = 0 ] || [ "$total" -gt 0 ]; then
    echo "check${LABEL:+ $LABEL}: store $DB$( [ "$FINAL" = 1 ] && echo ' (final)')"
    for i in "${!ACC_FILE[@]}"; do
        pl=""
        for pm in "${PMAP[@]+"${PMAP[@]}"}"; do [ "${pm#*$'\t'}" = "$i" ] && pl+="${pl:+,}${pm%%$'\t'*}"; done
        echo "  account a$i: ${ACC_FILE[$i]} ($pl)"
    done
    [ "${INFLIGHT:-0}" = 0 ] || echo "  $INFLIGHT broker fill(s) in flight at the kill (the restart must record them)"
    for inv in $INVARIANTS; do
        n=${COUNT[$inv]}
        if [ "$n" = 0 ]; then
            printf '  %-16s ok\n' "$inv"
        else
            printf '  %-16s %d violation(s)\n' "$inv" "$n"
            awk -F'\t' -v inv="$inv" -v max="$EXAMPLES" '$1 == inv && n++ < max { print "      " $3 }' "$TMP/violations.tsv"
        fi
    done
fi
printf 'SUMMARY'
for inv in $INVARIANTS; do printf ' %s=%d' "$inv" "${COUNT[$inv]}"; done
printf '\n'

if [ -n "$STATE" ]; then
    cp "$TMP/violations.tsv" "$STATE/violations.tsv"
    [ "$STORE_OK" = 1 ] && [ -f "$TMP/snapshot.txt" ] && cp "$TMP/snapshot.txt" "$STATE/snapshot.txt"
    cp "$TMP/inflight.tsv" "$STATE/inflight.tsv" 2>/dev/null || true
fi
[ "$total" = 0 ]
