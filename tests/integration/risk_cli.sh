# `apex-host resume` and `apex-host reduce-only` against a store, and what `status` shows
# of them (docs/risk.md). The host's side (entries refused, resumed) is in
# tests/engine/test_portfolio_engine.c.
source "$(dirname "$0")/lib.sh"
for c in resume reduce-only; do
  out=$("$APEX_HOST" $c --help)
  assert_contains "$out" "usage: apex-host $c" "$c --help"
done
set +e
"$APEX_HOST" reduce-only maybe --db "$WORK/none.db" >/dev/null 2>&1; assert_eq "$?" "2" "reduce-only needs on or off"
"$APEX_HOST" reduce-only on --db "$WORK/none.db" >/dev/null 2>&1; assert_eq "$?" "4" "a missing store exits 4"
"$APEX_HOST" resume --db "$WORK/none.db" >/dev/null 2>&1; assert_eq "$?" "4" "resume on a missing store exits 4"
set -e
demo_setup
DB="$WORK/s.db"
"$APEX_HOST" backtest --quiet --db "$DB" "$WORK/pipelines/ma_trend.lua" >/dev/null

out=$("$APEX_HOST" reduce-only on --db "$DB" ma-trend)
assert_eq "$out" "reduce-only on for ma-trend: new entries are skipped, exits go on" "reduce-only on says what it does"
assert_eq "$(sq "$DB" "SELECT value FROM meta WHERE key = 'risk.reduce_only:ma-trend'")" "on" "the store holds it"
out=$("$APEX_HOST" reduce-only on --db "$DB")
assert_eq "$out" "reduce-only on for every pipeline: new entries are skipped, exits go on" "for every pipeline"
out=$("$APEX_HOST" status --db "$DB")
assert_contains "$out" "RISK MODES" "status has the risk modes"
assert_contains "$out" "ma-trend        reduce-only  on, by hand: entries skipped, exits go on" "status shows the pipeline's mode"
assert_contains "$out" "every pipeline  reduce-only  on, by hand: entries skipped, exits go on" "status shows the store-wide mode"
"$APEX_HOST" reduce-only off --db "$DB" ma-trend >/dev/null
"$APEX_HOST" reduce-only off --db "$DB" >/dev/null
out=$("$APEX_HOST" status --db "$DB")
assert_contains "$out" "$(printf 'RISK MODES\n  none')" "off leaves no mode"
assert_eq "$(sq "$DB" "SELECT count(*) FROM events WHERE kind = 'risk_mode'")" "4" "each command is an event"

out=$("$APEX_HOST" resume --db "$DB")
assert_eq "$out" "no tripped drawdown breaker for any pipeline in $DB; entries are not halted by it" "resume with nothing tripped"
assert_eq "$(sq "$DB" "SELECT value FROM meta WHERE key = 'risk.resume'")" "1" "resume bumps the store-wide counter"
# A breaker the host tripped (the record pipeline/portfolio.c writes): at 2024-03-04 14:47
# UTC, equity 98,000 from a peak of 100,000, resumes by hand only.
sq "$DB" "INSERT OR REPLACE INTO meta(key, value) VALUES ('risk.drawdown:ma-trend', '1709563620000000 0 10000000000000 9800000000000 1')"
out=$("$APEX_HOST" status --db "$DB")
assert_contains "$out" "ma-trend  drawdown breaker  tripped 2024-03-04 14:47:00: equity 98000.00, 2.00% below its peak 100000.00; resumes by apex-host resume" "status shows the tripped breaker"
out=$("$APEX_HOST" resume --db "$DB" ma-trend)
assert_eq "$out" "ma-trend: drawdown breaker (equity 98000.00, 2.00% below its peak 100000.00) resumes" "resume names what it releases"
assert_eq "$(sq "$DB" "SELECT value FROM meta WHERE key = 'risk.resume:ma-trend'")" "1" "the pipeline's counter moved"

# `apex-host close ID`: a position closed by hand (the running host's side is in
# http_api.sh, through the API's same path). A finished or unknown execution is refused.
done_id=$(sq "$DB" "SELECT id FROM executions WHERE status = 'completed' LIMIT 1")
set +e
out=$("$APEX_HOST" close "$done_id" --db "$DB" 2>&1); code=$?
set -e
assert_eq "$code" "2" "close of a completed execution exits 2"
assert_contains "$out" "it is completed, with no open position to close" "saying why"
set +e
out=$("$APEX_HOST" close 99999 --db "$DB" 2>&1); code=$?
set -e
assert_eq "$code" "2" "close of an unknown execution exits 2"
assert_contains "$out" "execution 99999: no such execution" "naming it"
assert_eq "$(sq "$DB" "SELECT count(*) FROM meta WHERE key LIKE 'close.request:%'")" "0" "neither is recorded"

# The drawdown breaker's peak survives a restart (risk.peak:<pipeline>, written by `run`
# when it rises): a run records it, and a run that finds a peak of 200,000 in the store
# (equity is about 100,000) trips at once, measuring from that peak, not from its start.
sed 's/risk = { max_risk_pct = 0.01,/risk = { max_drawdown_pct = 0.05, max_risk_pct = 0.01,/' \
  "$WORK/pipelines/ma_trend.lua" > "$WORK/dd.lua"
RDB="$WORK/r.db"
"$APEX_HOST" run --speed 100000 --max-seconds 3 --db "$RDB" --fresh "$WORK/dd.lua" > "$WORK/r1.out" 2>&1 || true
peak=$(sq "$RDB" "SELECT value FROM meta WHERE key = 'risk.peak:ma-trend'")
# The starting 100,000 and what the demo makes (about +1,000 over its five days).
awk -v p="$peak" 'BEGIN { exit !(p + 0 >= 100000 && p + 0 <= 102000) }' &&
  pass "run recorded the drawdown breaker's peak equity ($peak)" || fail "risk.peak:ma-trend is '$peak'"
assert_eq "$(sq "$RDB" "SELECT count(*) FROM events WHERE kind = 'risk_limit' AND message LIKE 'drawdown breaker:%'")" "0" \
  "no drawdown trip from the run's own peak"
sq "$RDB" "UPDATE meta SET value = '200000' WHERE key = 'risk.peak:ma-trend'"
"$APEX_HOST" run --speed 100000 --max-seconds 3 --db "$RDB" "$WORK/dd.lua" > "$WORK/r2.out" 2>&1 || true
msg=$(sq "$RDB" "SELECT message FROM events WHERE kind = 'risk_limit' AND message LIKE 'drawdown breaker:%' LIMIT 1")
assert_contains "$msg" "below its peak 200000.00" "after a restart the breaker measures from the stored peak"
[ -n "$(sq "$RDB" "SELECT value FROM meta WHERE key = 'risk.drawdown:ma-trend'")" ] &&
  pass "the trip is recorded for the next run" || fail "no risk.drawdown:ma-trend after the trip"

# Bad portfolio-risk settings are refused by check, naming the file and the field.
sed 's/risk = { max_risk_pct = 0.01,/risk = { max_heat_pct = 1.5, max_cluster_heat_pct = 0.5, max_risk_pct = 0.01,/' \
  "$WORK/pipelines/ma_trend.lua" > "$WORK/bad_heat.lua"
set +e
out=$("$APEX_HOST" check "$WORK/bad_heat.lua" 2>&1); code=$?
set -e
assert_eq "$code" "3" "check exits 3 on a bad heat limit"
assert_contains "$out" "$WORK/bad_heat.lua: risk.max_heat_pct:" "the range error names the file and field"
sed 's/risk = { max_risk_pct = 0.01,/risk = { max_cluster_heat_pct = 0.08, max_risk_pct = 0.01,/' \
  "$WORK/pipelines/ma_trend.lua" > "$WORK/bad_cluster.lua"
set +e
out=$("$APEX_HOST" check "$WORK/bad_cluster.lua" 2>&1); code=$?
set -e
assert_eq "$code" "3" "check exits 3 on a cluster limit above the total"
assert_contains "$out" "$WORK/bad_cluster.lua: risk.max_cluster_heat_pct: 0.08 is above risk.max_heat_pct (0.06)" "the cross-field error names both fields"
finish
