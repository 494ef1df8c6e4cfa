# SIGKILL during a run, then a restart on the same store, resumes monitoring the open
# execution with no order sent twice; SIGTERM stops a run gracefully.
source "$(dirname "$0")/lib.sh"
demo_setup
P="$WORK/pipelines/ma_trend.lua"
DB="$WORK/k.db"
PAPER="$DB.ma-trend.paper"

victim=""
kill_while_holding "$P" "$DB" 3000 "$WORK/run1.out" && victim=$VICTIM
[ -n "$victim" ] && pass "an execution was monitoring an open position when killed (id $victim)" || { fail "no execution reached monitoring before the kill"; finish; }

orders_before=$(sq "$DB" "SELECT count(*) FROM orders WHERE execution_id=$victim")
sym=$(sq "$DB" "SELECT symbol FROM executions WHERE id=$victim")

"$APEX_HOST" run --speed 50000 --db "$DB" "$P" > "$WORK/run2.out" 2>&1
assert_contains "$(cat "$WORK/run2.out")" "RESUME" "the restarted host says it resumes"
ev=$(sq "$DB" "SELECT count(*) FROM events WHERE kind='restart' AND execution_id=$victim")
assert_eq "$ev" "1" "the store records the resumption of execution $victim"
entries=$(sq "$DB" "SELECT count(*) FROM orders WHERE execution_id=$victim AND role='entry'")
assert_eq "$entries" "1" "execution $victim has exactly one entry order"
status=$(sq "$DB" "SELECT status FROM executions WHERE id=$victim")
case "$status" in completed|monitoring) pass "execution $victim is $status after the restart";; *) fail "execution $victim is $status";; esac
# At the broker: every client order id of ours exists once, and nothing was sent twice.
dups=$(sq "$PAPER" "SELECT count(*) FROM (SELECT client_order_id FROM paper_orders GROUP BY client_order_id HAVING count(*) > 1)")
assert_eq "$dups" "0" "no client order id appears twice at the broker"
# Every order at the broker is one of ours, exactly once; every order the broker
# acknowledged (it has a broker id) is at the broker.
strays=$(sq "$DB" "ATTACH '$PAPER' AS b; SELECT count(*) FROM b.paper_orders po WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.client_order_id = po.client_order_id)")
assert_eq "$strays" "0" "the broker holds no order the store does not know"
missing=$(sq "$DB" "ATTACH '$PAPER' AS b; SELECT count(*) FROM orders o WHERE o.broker_order_id != '' AND NOT EXISTS (SELECT 1 FROM b.paper_orders po WHERE po.client_order_id = o.client_order_id)")
assert_eq "$missing" "0" "every order the broker acknowledged is at the broker"
# Positions agree between the store and the broker for the resumed symbol.
store_qty=$(sq "$DB" "SELECT coalesce(sum(CASE side WHEN 'buy' THEN qty ELSE -qty END),0) FROM fills")
broker_qty=$(sq "$PAPER" "SELECT coalesce(sum(qty),0) FROM paper_positions")
assert_eq "$store_qty" "$broker_qty" "the fills ledger matches the broker's positions"
[ "$(sq "$DB" "SELECT count(*) FROM orders WHERE execution_id=$victim")" -ge "$orders_before" ] && pass "no order of $victim was lost"

# SIGTERM: graceful stop with a summary and exit 0.
"$APEX_HOST" run --speed 100 --db "$WORK/t.db" --fresh "$P" > "$WORK/term.out" 2>&1 &
pid=$!
sleep 2
kill -TERM $pid
set +e; wait $pid; code=$?; set -e
assert_eq "$code" "0" "SIGTERM exits 0"
assert_contains "$(cat "$WORK/term.out")" "summary" "SIGTERM prints the summary"
finish
