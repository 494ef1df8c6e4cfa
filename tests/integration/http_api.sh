# The HTTP API (docs/api.md): every list endpoint against the store's rows through
# `apex-host serve`, which is read-only; then `apex-host run --http` on a followed feed in
# approval mode: the token guards every state change (approve, reject, pause, resume), the
# answers reach the running host through the store, and the push stream reports them.
source "$(dirname "$0")/lib.sh"
WSCLIENT="${APEX_BUILD_DIR:?set by ctest}/fake-alpaca-wsclient"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 100); do curl -s -m 1 "$1/healthz" >/dev/null && return 0; sleep 0.1; done; return 1; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# ---- serve: the lists against the store ----------------------------------------------
demo_setup
DB="$WORK/bt.db"
"$APEX_HOST" backtest --quiet --db "$DB" "$WORK/pipelines/ma_trend.lua" >/dev/null
PORT=$(free_port)
API=http://127.0.0.1:$PORT
"$APEX_HOST" serve --db "$DB" --http "127.0.0.1:$PORT" > "$WORK/serve.out" 2>&1 &
spid=$!
trap 'for p in $spid ${rpid:-} ${wpid:-}; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT
wait_http "$API" || { fail "serve did not answer"; cat "$WORK/serve.out"; finish; }

# Every row of a table, read page by page (limit 25 makes many pages), against sqlite3.
pages() {
  python3 - "$API/api/v1/$1" <<'PY'
import json, sys, urllib.request
url, before, ids = sys.argv[1], None, []
while True:
    page = json.load(urllib.request.urlopen(url + "?limit=25" + (f"&before={before}" if before else "")))
    ids += [r["id"] for r in page["data"]]
    before = page["next_before"]
    if before is None:
        break
print(" ".join(str(i) for i in sorted(ids)))
PY
}
all_ids() {
  assert_eq "$(pages "$1")" "$(sq "$DB" "SELECT $3 FROM $2 ORDER BY $3" | tr '\n' ' ' | sed 's/ $//')" \
    "$1: every row once, paged"
}
all_ids executions executions id
all_ids positions positions position_id
all_ids orders orders id
all_ids fills fills id
all_ids exits position_exits exit_id
all_ids exit_attempts exit_attempts attempt_id
all_ids events events id
all_ids equity equity id
[ "$(sq "$DB" "SELECT count(*) FROM executions")" -gt 20 ] || fail "the backtest made executions"

# One row's fields, exact: money as decimal strings, times as UTC ISO 8601.
id=$(sq "$DB" "SELECT max(id) FROM executions WHERE status = 'completed'")
row=$(curl -s "$API/api/v1/executions?execution_id=$id")
assert_eq "$(json "d['data'][0]['symbol'] + ' ' + d['data'][0]['status'] + ' ' + d['data'][0]['realized_pnl']" <<<"$row")" \
  "$(sq "$DB" "SELECT symbol || ' ' || status || ' ' || printf('%.2f', realized_pnl / 1e8) FROM executions WHERE id = $id" | sed 's/\.00$//; s/\(\.[0-9]\)0$/\1/')" \
  "an execution's symbol, status and realized P&L"
assert_eq "$(json "d['data'][0]['completed_at']" <<<"$row")" \
  "$(sq "$DB" "SELECT strftime('%Y-%m-%dT%H:%M:%SZ', completed_at / 1000000, 'unixepoch') FROM executions WHERE id = $id")" \
  "its completion time"
fills=$(curl -s "$API/api/v1/fills?execution_id=$id&limit=1000")
assert_eq "$(json "' '.join(r['price'] + 'x' + r['qty'] for r in reversed(d['data']))" <<<"$fills")" \
  "$(sq "$DB" "SELECT rtrim(rtrim(printf('%.8f', price / 1e8), '0'), '.') || 'x' || rtrim(rtrim(printf('%.8f', qty / 1e8), '0'), '.') FROM fills WHERE execution_id = $id ORDER BY id" | tr '\n' ' ' | sed 's/ $//')" \
  "its fills' prices and quantities"
assert_eq "$(curl -s "$API/api/v1/events?kind=status&limit=1000" | json "len(d['data'])")" \
  "$(sq "$DB" "SELECT count(*) FROM events WHERE kind = 'status'")" "events by kind"
assert_eq "$(curl -s "$API/api/v1/executions?status=skipped&limit=1000" | json "len(d['data'])")" \
  "$(sq "$DB" "SELECT count(*) FROM executions WHERE status = 'skipped'")" "executions by status"
assert_eq "$(curl -s "$API/api/v1/orders?symbol=AAPL&limit=1000" | json "len(d['data'])")" \
  "$(sq "$DB" "SELECT count(*) FROM orders WHERE symbol = 'AAPL'")" "orders by symbol"
m=$(curl -s "$API/api/v1/metrics")
assert_eq "$(json "d['store']['executions'], d['store']['fills'], d['store']['events']" <<<"$m")" \
  "$(sq "$DB" "SELECT count(*) FROM executions") $(sq "$DB" "SELECT count(*) FROM fills") $(sq "$DB" "SELECT count(*) FROM events")" \
  "metrics count what the store holds"
# The analytics section: the summary's computation over the same store (docs/analytics.md).
assert_eq "$(json "d['analytics']['trades']['trades'], '%.2f' % d['analytics']['trades']['net_pnl'], '%.2f' % d['analytics']['start_equity']" <<<"$m")" \
  "$(sq "$DB" "SELECT count(*) FROM executions WHERE status = 'completed'") $(sq "$DB" "SELECT printf('%.2f', sum(realized_pnl) / 1e8) FROM executions WHERE status = 'completed'") 100000.00" \
  "the analytics count the completed trades, their net P&L and the starting equity"
# /metrics: the Prometheus text, which serve (no host) fills with the store's orders.
curl -s "$API/metrics" > "$WORK/serve.prom"
check=$("${PROM_CHECK:?set by ctest}" "$WORK/serve.prom" 2>&1) && pass "/metrics parses: $check" || fail "/metrics: $check"
assert_eq "$(awk '/^apex_orders\{/ { n += $2 } END { print n + 0 }' "$WORK/serve.prom")" \
  "$(sq "$DB" "SELECT count(*) FROM orders")" "its apex_orders add up to the store's orders"
p=$(curl -s "$API/api/v1/pipelines")
assert_eq "$(json "d['data'][0]['name'], d['data'][0]['executions'], d['data'][0]['live']" <<<"$p")" \
  "ma-trend $(sq "$DB" "SELECT count(*) FROM executions") False" "pipelines from the store"
assert_eq "$(curl -s -o /dev/null -w '%{http_code}' "$API/api/v1/executions?limit=5000")" "400" "a page is at most 1000 rows"
assert_eq "$(curl -s -o /dev/null -w '%{http_code}' "$API/api/v1/executions?before=x")" "400" "a malformed id is refused"
assert_eq "$(curl -s -o /dev/null -w '%{http_code}' "$API/api/v1/nothing")" "404" "an unknown path is 404"
assert_contains "$(curl -s "$API/api/v1/bars?symbol=AAPL")" "kept by a running host only" "serve has no bars, and says why"
# A port in use is refused at start, not served by nobody (lws alone would only log it).
set +e
busy=$("$APEX_HOST" serve --db "$DB" --http "127.0.0.1:$PORT" 2>&1); rc=$?
set -e
assert_eq "$rc" "1" "serve on a port in use exits 1"
assert_contains "$busy" "127.0.0.1:$PORT is in use by another process" "saying the port is in use"
assert_contains "$(curl -s "$API/assets/vendor/chart.js" | head -c 200)" "Chart.js" "the chart library is served"
out=$(curl -s -w ' %{http_code}' -X POST -H "Authorization: Bearer x" "$API/api/v1/pipelines/ma-trend/pause")
assert_contains "$out" "apex-host serve is read-only" "serve refuses a state change"
assert_contains "$out" " 405" "with 405"
assert_eq "$(sq "$DB" "SELECT count(*) FROM meta WHERE key LIKE 'risk.reduce_only%'")" "0" "and changes nothing"
assert_eq "$(curl -s "$API/readyz" | json "d['ready'], d['checks']['store']['reason']")" \
  "True read-only: the store can be read" "serve's readiness"

# A read that waits on the store holds a worker thread, never the loop. Another process
# takes SQLite's WAL read-mark locks (bytes 123-127 of the -shm file) for 4 s, so a reader
# cannot begin and retries; a metrics request waits behind them, and /healthz is answered
# while it still waits. Were the read on the loop, healthz would wait too (curl gives up
# after 2 s).
python3 - "$DB-shm" 4 > "$WORK/held" <<'PY' &
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX, 5, 123, os.SEEK_SET)
print("held", flush=True)
time.sleep(float(sys.argv[2]))
PY
lockpid=$!
for _ in $(seq 100); do grep -q held "$WORK/held" && break; sleep 0.05; done
curl -s -o "$WORK/held.json" -w '%{http_code}' "$API/api/v1/metrics" > "$WORK/held.code" &
mpid=$!
sleep 0.3
assert_eq "$(curl -s -m 2 "$API/healthz" | json "d['status']")" "alive" \
  "healthz answers while a metrics read waits on a locked store"
kill -0 $mpid 2>/dev/null && pass "that read was still waiting then" || fail "the metrics read had already finished: the lock did not hold it"
wait $mpid
wait $lockpid
assert_eq "$(cat "$WORK/held.code") $(json "d['store']['executions']" < "$WORK/held.json")" \
  "200 $(sq "$DB" "SELECT count(*) FROM executions")" "and it is answered, right, once the lock is gone"

# And a stop while such a read waits: the teardown lets the worker finish it before the
# connection it reads on is closed (under ASan: no use after free, nothing leaked).
python3 - "$DB-shm" 2 > "$WORK/held2" <<'PY' &
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX, 5, 123, os.SEEK_SET)
print("held", flush=True)
time.sleep(float(sys.argv[2]))
PY
lockpid=$!
for _ in $(seq 100); do grep -q held "$WORK/held2" && break; sleep 0.05; done
curl -s -o /dev/null "$API/api/v1/metrics" &
mpid=$!
sleep 0.3
kill $spid
code=0; wait $spid || code=$?
assert_eq "$code" "0" "serve stops on SIGTERM with 0, a store read in flight"
wait $mpid || true
wait $lockpid
[ "$code" = 0 ] || cat "$WORK/serve.out"

set +e
"$APEX_HOST" serve --db "$WORK/none.db" >/dev/null 2>&1; assert_eq "$?" "4" "serve on a missing store exits 4"
"$APEX_HOST" serve --db "$DB" --http 127.0.0.1:0 >/dev/null 2>&1; assert_eq "$?" "2" "a bad --http is a usage error"
set -e

# ---- run --http: the token, the answers, the stream ------------------------------------
cat > "$WORK/live.csv" <<'CSV'
timestamp,symbol,open,high,low,close,volume
CSV
cat > "$WORK/third.lua" <<'LUA'
-- Buys on the 3rd bar it sees, with a stop at 95 and a target at 120.
return { on_bar = function(ctx, bar)
  ctx.state.n = (ctx.state.n or 0) + 1
  if ctx.state.n == 3 then return { side = "buy", stop_loss = 95, take_profit = 120 } end
end }
LUA
cat > "$WORK/approve.lua" <<LUA
return apex.pipeline {
  name = "approve", symbols = { "AAPL", "MSFT" },
  data = { files = { "$WORK/live.csv" }, follow = true },
  strategy = "$WORK/third.lua",
  risk = { max_position_pct = 0.2, max_risk_pct = 0.01 },
  execution = { mode = "approval", approval_timeout = 300 },
}
LUA
TOKEN="test-token-$RANDOM$RANDOM"
PORT=$(free_port)
API=http://127.0.0.1:$PORT
RDB="$WORK/run.db"
APEX_HTTP_TOKEN="$TOKEN" "$APEX_HOST" run --db "$RDB" --http "127.0.0.1:$PORT" "$WORK/approve.lua" \
  > "$WORK/run.out" 2>&1 &
rpid=$!
wait_http "$API" || { fail "run --http did not answer"; cat "$WORK/run.out"; finish; }
assert_contains "$(cat "$WORK/run.out")" "  dashboard  http://127.0.0.1:$PORT/" "the banner says where the dashboard listens"
"$WSCLIENT" --port "$PORT" --path /api/v1/stream --count 60 --timeout 15 > "$WORK/ws.out" 2>&1 &
wpid=$!
sleep 0.5
now=$(date +%s)
for i in 0 1 2 3; do
  echo "$((now + i)),AAPL,100.00,100.20,99.90,100.00,500" >> "$WORK/live.csv"
  echo "$((now + i)),MSFT,100.00,100.20,99.90,100.00,500" >> "$WORK/live.csv"
  sleep 0.3
done
assert_eq "$(until_sq "$RDB" "SELECT count(*) FROM approvals WHERE status = 'pending'" 2)" "2" "two entries wait for approval"
listed=$(curl -s "$API/api/v1/approvals?status=pending")
assert_eq "$(json "sorted(r['symbol'] for r in d['data'])" <<<"$listed")" "['AAPL', 'MSFT']" "the API lists them"
aapl=$(sq "$RDB" "SELECT id FROM approvals WHERE symbol = 'AAPL'")
msft=$(sq "$RDB" "SELECT id FROM approvals WHERE symbol = 'MSFT'")

code=$(curl -s -o "$WORK/r" -w '%{http_code}' -X POST "$API/api/v1/approvals/$aapl/approve")
assert_eq "$code" "401" "an approval without the token is refused"
assert_contains "$(cat "$WORK/r")" "Authorization: Bearer" "saying what to send"
code=$(curl -s -o "$WORK/r" -w '%{http_code}' -X POST -H "Authorization: Bearer ${TOKEN}x" "$API/api/v1/approvals/$aapl/approve")
assert_eq "$code" "401" "a wrong token is refused"
assert_eq "$(sq "$RDB" "SELECT status || '/' || coalesce(answer, '-') FROM approvals WHERE id = $aapl")" "pending/-" "and nothing was answered"
grep -qF "$TOKEN" "$WORK/run.out" && fail "the token appears in the host's output"
code=$(curl -s -o "$WORK/r" -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" "$API/api/v1/approvals/$aapl/approve")
assert_eq "$code" "200" "with the token the approval is accepted"
assert_contains "$(cat "$WORK/r")" "approved by http" "its answer says so"
assert_eq "$(until_sq "$RDB" "SELECT status || ' ' || answered_by FROM approvals WHERE id = $aapl" "approved http")" "approved http" "the running host approved it"
code=$(curl -s -o "$WORK/r" -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" "$API/api/v1/approvals/$aapl/reject")
assert_eq "$code" "409" "a second answer is a conflict"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' --data '{"reason": "not today"}' "$API/api/v1/approvals/$msft/reject")
assert_eq "$code" "200" "a rejection with a reason"
assert_eq "$(until_sq "$RDB" "SELECT status || ': ' || answer_reason FROM approvals WHERE id = $msft" "rejected: not today")" "rejected: not today" "the host rejected it, with the reason"
assert_eq "$(until_sq "$RDB" "SELECT status FROM executions WHERE symbol = 'AAPL'" monitoring)" "monitoring" "the approved entry trades"
# Its market order fills on the next bar; the stream then shows the position.
now=$(date +%s)
for i in 0 1; do
  echo "$((now + i)),AAPL,100.00,100.20,99.90,100.10,500" >> "$WORK/live.csv"
  echo "$((now + i)),MSFT,100.00,100.20,99.90,100.10,500" >> "$WORK/live.csv"
  sleep 0.5
done
assert_eq "$(until_sq "$RDB" "SELECT count(*) FROM positions WHERE symbol = 'AAPL' AND status = 'open'" 1)" "1" "it filled"
# The price chart's bars: AAPL's six rows of the followed file, oldest first, as written.
bars=$(curl -s "$API/api/v1/bars?symbol=AAPL")
assert_eq "$(json "d['pipeline'] + ' ' + ' '.join(r['close'] for r in d['data'])" <<<"$bars")" \
  "approve $(awk -F, '$2 == "AAPL" { c = $6; sub(/0+$/, "", c); sub(/\.$/, "", c); printf "%s ", c }' "$WORK/live.csv" | sed 's/ $//')" \
  "bars: the running host's last bars of a symbol, oldest first"
assert_eq "$(json "d['data'][-1]['ts'], d['data'][-1]['high'], d['data'][-1]['volume']" <<<"$bars")" \
  "$(awk -F, '$2 == "AAPL" { t = $1 } END { print strftime("%Y-%m-%dT%H:%M:%SZ", t, 1) }' "$WORK/live.csv") 100.2 500" \
  "with the newest bar's time, high and volume"
assert_eq "$(curl -s "$API/api/v1/bars?symbol=AAPL&limit=2" | json "len(d['data'])")" "2" "limit takes the newest"
assert_eq "$(curl -s -o /dev/null -w '%{http_code}' "$API/api/v1/bars")" "400" "bars without a symbol is refused"
curl -s "$API/metrics" > "$WORK/run.prom"
check=$("$PROM_CHECK" "$WORK/run.prom" 2>&1) && pass "run's /metrics parses: $check" || fail "run's /metrics: $check"
assert_eq "$(sed -n 's/^apex_fills_total{pipeline="approve"} //p' "$WORK/run.prom")" \
  "$(sq "$RDB" "SELECT count(*) FROM fills")" "run's /metrics counts the fills the store holds"
pos=$(curl -s "$API/api/v1/positions?status=open")
assert_eq "$(json "d['data'][0]['symbol'], d['data'][0]['qty'], d['data'][0]['entry_price']" <<<"$pos")" \
  "AAPL $(sq "$RDB" "SELECT rtrim(rtrim(printf('%.8f', quantity / 1e8), '0'), '.') || ' ' || rtrim(rtrim(printf('%.8f', entry_price / 1e8), '0'), '.') FROM positions WHERE status = 'open'")" \
  "the open position as the store has it"

code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$API/api/v1/pipelines/approve/pause")
assert_eq "$code" "401" "a pause without the token is refused"
assert_eq "$(sq "$RDB" "SELECT count(*) FROM meta WHERE key = 'risk.reduce_only:approve'")" "0" "and changes nothing"
code=$(curl -s -o "$WORK/r" -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" "$API/api/v1/pipelines/approve/pause")
assert_eq "$code" "200" "a pause with the token"
assert_eq "$(sq "$RDB" "SELECT value FROM meta WHERE key = 'risk.reduce_only:approve'")" "on" "the pipeline is in reduce-only mode"
assert_eq "$(curl -s "$API/api/v1/pipelines" | json "d['data'][0]['reduce_only'], d['data'][0]['live'], d['data'][0]['trading_state']")" \
  "True True ACTIVE" "the pipeline shows it, live"
curl -s -o /dev/null -X POST -H "Authorization: Bearer $TOKEN" "$API/api/v1/pipelines/approve/resume"
assert_eq "$(sq "$RDB" "SELECT value FROM meta WHERE key = 'risk.reduce_only:approve'")" "off" "resume turns it off"
assert_eq "$(sq "$RDB" "SELECT group_concat(message, ' | ') FROM events WHERE kind = 'risk_mode'")" \
  "reduce-only on by hand for approve (HTTP API) | reduce-only off by hand for approve (HTTP API)" "each is an event"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" "$API/api/v1/pipelines/nope/pause")
assert_eq "$code" "404" "an unknown pipeline is 404"

ready=$(curl -s "$API/readyz")
assert_eq "$(json "d['checks']['store']['ok'], d['checks']['broker']['pipelines']['approve']['reason']" <<<"$ready")" \
  "True paper broker (in this process)" "readyz: the store takes writes, the paper broker is here"
assert_contains "$(json "d['checks']['market_data']['pipelines']['approve']['reason']" <<<"$ready")" "newest bar" "readyz says how old the newest bar is"
assert_eq "$(curl -s "$API/healthz" | json "d['status']")" "alive" "healthz"

# The stream's messages are in once the position's is (the last to come); no need to wait
# for the client's own timeout.
for _ in $(seq 150); do grep -qF '{"type":"position","data":{"id":' "$WORK/ws.out" && break; sleep 0.1; done
kill $wpid 2>/dev/null || true
wait $wpid || true
wpid=""
ws=$(cat "$WORK/ws.out")
assert_contains "$ws" '{"type":"hello","data":{"version":' "the stream says hello"
assert_contains "$ws" '"kind":"approval"' "it pushes the approval events"
assert_contains "$ws" '{"type":"execution","data":{"id":' "an execution whose status changed"
assert_contains "$ws" '"status":"monitoring"' "with its new status"
assert_contains "$ws" '{"type":"position","data":{"id":' "and the position"

# Closing the open AAPL position by hand: the token guards it; with it the running host
# closes all of it at market (manual_close, CRITICAL) on the next bar.
aexec=$(sq "$RDB" "SELECT execution_id FROM positions WHERE symbol = 'AAPL' AND status = 'open'")
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$API/api/v1/executions/$aexec/close")
assert_eq "$code" "401" "a close without the token is refused"
code=$(curl -s -o "$WORK/r" -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" "$API/api/v1/executions/$aexec/close")
assert_eq "$code" "200" "a close with the token is accepted"
assert_contains "$(cat "$WORK/r")" "close requested by http" "saying who asked"
now=$(date +%s)
for i in 0 1; do
  echo "$((now + i)),AAPL,100.00,100.30,99.90,100.20,500" >> "$WORK/live.csv"
  sleep 0.5
done
assert_eq "$(until_sq "$RDB" "SELECT status FROM executions WHERE id = $aexec" completed)" "completed" "the execution completed"
assert_eq "$(sq "$RDB" "SELECT exit_reason || ' ' || exit_priority || ' ' || status || ' ' || (filled_quantity = exit_quantity) FROM position_exits WHERE execution_id = $aexec")" \
  "manual_close CRITICAL filled 1" "as a manual_close exit, CRITICAL, all of it filled"
assert_eq "$(sq "$RDB" "SELECT count(*) FROM positions WHERE execution_id = $aexec AND status = 'open'")" "0" "its position is closed"
code=$(curl -s -o "$WORK/r" -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" "$API/api/v1/executions/$aexec/close")
assert_eq "$code" "409" "closing it again is a conflict"
assert_contains "$(cat "$WORK/r")" "it is completed, with no open position to close" "that says why"

kill -TERM $rpid
code=0; wait $rpid || code=$?
assert_eq "$code" "0" "run --http stops on SIGTERM with 0"
[ "$code" = 0 ] || cat "$WORK/run.out"
rpid=""
finish
