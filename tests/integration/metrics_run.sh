# --metrics: the registry written at the end of a backtest with trades parses under the
# Prometheus text format rules (build/prom-check, tests/support/prom_parse.h), and its
# counters equal what the store recorded as the trades happened: orders by status,
# orders created, fills, exits filled, realized P&L, the broker's submits. Then a live
# run with a good and a bad hot reload: the reload counters equal the store's events.
source "$(dirname "$0")/lib.sh"
: "${PROM_CHECK:?set by ctest}"
demo_setup
P="$WORK/pipelines/ma_trend.lua $WORK/pipelines/rsi_reversion.lua"
M="$WORK/bt.prom"
"$APEX_HOST" backtest --quiet --db "$WORK/bt.db" --metrics "$M" $P > "$WORK/bt.out" ||
  fail "backtest: $(tail -3 "$WORK/bt.out")"
check=$("$PROM_CHECK" "$M" 2>&1) && pass "the metrics parse: $check" || fail "$check"
[ ! -e "$M.tmp" ] && pass "no temporary file left" || fail "$M.tmp left behind"

# value NAME LABELS: the sample's value as written, "missing" when there is none.
value() {
  local v
  v=$(grep -F "$1{$2} " "$M" | awk '{print $2}')
  echo "${v:-missing}"
}
fills_total=0
for pl in ma-trend rsi-reversion; do
  L="pipeline=\"$pl\""
  ex="SELECT id FROM executions WHERE pipeline='$pl'"
  fills=$(sq "$WORK/bt.db" "SELECT count(*) FROM fills WHERE execution_id IN ($ex)")
  fills_total=$((fills_total + fills))
  [ "$fills" -ge 4 ] && pass "$pl traded ($fills fills)" || fail "$pl: expected trades, got $fills fills"
  assert_eq "$(value apex_fills_total "$L")" "$fills" "$pl: apex_fills_total = its fills rows"
  assert_eq "$(value apex_orders_created_total "$L")" \
    "$(sq "$WORK/bt.db" "SELECT count(*) FROM orders WHERE execution_id IN ($ex)")" \
    "$pl: apex_orders_created_total = its orders rows"
  while IFS='|' read -r status n; do
    assert_eq "$(value apex_orders "$L,status=\"$status\"")" "$n" "$pl: apex_orders{status=\"$status\"} = its $status rows"
  done < <(sq "$WORK/bt.db" "SELECT status, count(*) FROM orders WHERE execution_id IN ($ex) GROUP BY status")
  # Money: the text's decimal, in the store's units of 1e-8.
  got=$(value apex_realized_pnl "$L" | awk '{printf "%.0f", $1 * 100000000}')
  assert_eq "$got" "$(sq "$WORK/bt.db" "SELECT sum(realized_pnl) FROM executions WHERE pipeline='$pl'")" \
    "$pl: apex_realized_pnl = the sum of its executions' realized P&L"
  assert_eq "$(value apex_open_positions "$L")" \
    "$(sq "$WORK/bt.db" "SELECT count(*) FROM positions WHERE status='open' AND execution_id IN ($ex)")" \
    "$pl: apex_open_positions = its open positions rows"
  assert_eq "$(value apex_exit_fill_latency_seconds_count "$L")" \
    "$(sq "$WORK/bt.db" "SELECT count(*) FROM position_exits WHERE status='filled' AND position_id IN (SELECT position_id FROM positions WHERE execution_id IN ($ex))")" \
    "$pl: one exit fill latency per filled position_exits row"
  checks=$(awk -v pl="$pl" '$1 == pl {on = 1} on && /monitor checks/ {print $3; exit}' "$WORK/bt.out")
  assert_eq "$(value apex_monitor_check_lag_seconds_count "$L")" "$checks" \
    "$pl: one check lag per monitor check of the summary ($checks)"
  calls=$(value apex_lua_calls_total "$L")
  [ "${calls:-0}" -gt 1000 ] && pass "$pl: Lua calls counted ($calls)" || fail "$pl: Lua calls: $calls"
done
assert_eq "$(value apex_broker_requests_total 'venue="paper",request="submit_order"')" \
  "$(sq "$WORK/bt.db" "SELECT count(*) FROM orders WHERE coalesce(parent_client_order_id, '') = ''")" \
  "every order submitted to the paper broker is an orders row (legs ride with their entry)"
[ "$(grep -c '^apex_fills_total' "$M")" = 2 ] && pass "one fills series per pipeline" ||
  fail "fills series: $(grep '^apex_fills_total' "$M")"

# A path that cannot be written fails the run, naming it.
rc=0
"$APEX_HOST" backtest --quiet --db "$WORK/bt2.db" --metrics "$WORK/no/such/dir/m.prom" \
  "$WORK/pipelines/rsi_reversion.lua" > "$WORK/bad.out" 2>&1 || rc=$?
assert_eq "$rc" "1" "an unwritable --metrics file fails the backtest (exit 1)"
assert_contains "$(cat "$WORK/bad.out")" "--metrics $WORK/no/such/dir/m.prom: cannot write the metrics" \
  "the error names the file"

# ---- hot reloads in a live run: one that goes live, one that fails ----
mkdir -p "$WORK/live"
printf 'timestamp,symbol,open,high,low,close,volume\n' > "$WORK/live/bars.csv"
printf 'return { on_bar = function(ctx, bar) end }\n' > "$WORK/live/quiet.lua"
cat > "$WORK/live/p.lua" <<LUA
return apex.pipeline {
    name = "live", symbols = { "AAPL" },
    data = { files = { "$WORK/live/bars.csv" }, follow = true },
    strategy = "$WORK/live/quiet.lua",
}
LUA
LM="$WORK/live.prom"
"$APEX_HOST" run --db "$WORK/live.db" --metrics "$LM" "$WORK/live/p.lua" > "$WORK/live.out" 2>&1 &
LPID=$!
# save TEXT KIND: saves quiet.lua as editors do (a rename) until the store has an event
# of KIND (the watcher may not be installed yet when the first save lands).
save() {
  for _ in 1 2 3 4 5; do
    printf '%s\n' "$1" > "$WORK/live/quiet.lua.tmp"
    mv "$WORK/live/quiet.lua.tmp" "$WORK/live/quiet.lua"
    for _ in $(seq 1 20); do
      [ "$(sq "$WORK/live.db" "SELECT count(*) FROM events WHERE kind='$2'" 2>/dev/null || echo 0)" -ge 1 ] && return 0
      sleep 0.1
    done
  done
  return 1
}
save 'return { on_bar = function(ctx, bar) return nil end }' reload ||
  fail "the good save was never reloaded: $(tail -3 "$WORK/live.out")"
save 'return { on_bar = function(ctx, bar) end' reload_error ||
  fail "the bad save was never reported: $(tail -3 "$WORK/live.out")"
kill -TERM $LPID
wait $LPID 2>/dev/null || true
check=$("$PROM_CHECK" "$LM" 2>&1) && pass "the live run's metrics parse: $check" || fail "$check"
M=$LM
assert_eq "$(value apex_reloads_total 'pipeline="live"')" \
  "$(sq "$WORK/live.db" "SELECT count(*) FROM events WHERE kind='reload' AND pipeline='live'")" \
  "apex_reloads_total = the reload events"
assert_eq "$(value apex_reload_failures_total 'pipeline="live"')" \
  "$(sq "$WORK/live.db" "SELECT count(*) FROM events WHERE kind='reload_error' AND pipeline='live'")" \
  "apex_reload_failures_total = the reload_error events"
[ "$(value apex_reload_failures_total 'pipeline="live"')" -ge 1 ] && pass "the failure was counted" ||
  fail "no reload failure counted"
finish
