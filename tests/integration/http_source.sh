# data.http: `apex-host run` polls a JSON price for a symbol nobody trades (VIX) from a
# local server (build/webhook-receiver in `serve` mode), beside a followed CSV for AAPL.
# The strategy sees the price through apex.price("VIX") (its signal's reason records it),
# and the instruction "close if VIX > 40" closes the position once the server's value is
# raised above 40. `check` reports a bad source naming data.http[N].field; a backtest
# ignores the sources.
source "$(dirname "$0")/lib.sh"
: "${APEX_BUILD_DIR:?set by ctest}"

# The answer the server gives; replaced whole with a rename, never half-written.
set_vix() {
  printf '{"data":[{"symbol":"VIX","last":"%s"}]}' "$1" > "$WORK/vix.json.tmp"
  mv "$WORK/vix.json.tmp" "$WORK/vix.json"
}
set_vix 18.25
"$APEX_BUILD_DIR/webhook-receiver" serve "$WORK/server.log" "$WORK/vix.json" > "$WORK/server.port" &
server=$!
for _ in $(seq 1 100); do
  grep -q listening "$WORK/server.port" 2>/dev/null && break
  sleep 0.05
done
port=$(awk '/listening/ {print $2}' "$WORK/server.port")
[ -n "$port" ] || { echo "FAIL: the test server did not start"; exit 1; }
stop_server() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }
trap 'stop_server; rm -rf "$WORK"' EXIT

cat > "$WORK/aapl.csv" <<'CSV'
timestamp,symbol,open,high,low,close,volume
CSV
cat > "$WORK/vix_buy.lua" <<'LUA'
-- Buys AAPL once, on the first bar after a VIX price arrived. The stop is the VIX it saw
-- (a price below the entry, which the store keeps), so the test can read what it saw.
return { on_bar = function(ctx, bar)
  local vix = apex.price("VIX")
  if vix and not ctx.state.bought then
    ctx.state.bought = true
    return { side = "buy", stop_loss = vix, reason = string.format("saw VIX %.2f", vix) }
  end
end }
LUA
cat > "$WORK/http.lua" <<LUA
return apex.pipeline {
  name = "httpvix", symbols = { "AAPL" },
  data = {
    files = { "$WORK/aapl.csv" }, follow = true,
    http = { { symbol = "VIX", url = "http://127.0.0.1:$port/v1/quote?symbol=VIX",
               price = "data.0.last", every_seconds = 1 } },
  },
  strategy = "$WORK/vix_buy.lua",
  instructions = { "close if VIX > 40" },
  monitoring = { normal_frequency = 1, urgent_frequency = 1 },
}
LUA

out=$("$APEX_HOST" check "$WORK/http.lua" 2>&1) && code=0 || code=$?
assert_eq "$code" "0" "check accepts a good data.http source"
assert_contains "$out" "ok: pipeline 'httpvix'" "check says ok"

"$APEX_HOST" run --db "$WORK/run.db" "$WORK/http.lua" > "$WORK/run.out" 2>&1 &
pid=$!
bar_at=$(date +%s)
add_bar() { bar_at=$((bar_at + 1)); echo "$bar_at,AAPL,100.00,100.20,99.90,100.10,500" >> "$WORK/aapl.csv"; }
# AAPL bars every 0.3 s until the strategy has bought on one (a VIX price arrived first).
stop=""
for _ in $(seq 1 60); do
  add_bar
  sleep 0.3
  stop=$(sq "$WORK/run.db" "SELECT printf('%.2f', stop_loss / 1e8) FROM executions WHERE status='monitoring' AND id IN (SELECT execution_id FROM fills)" 2>/dev/null || true)
  [ -n "$stop" ] && break
done
assert_eq "$stop" "18.25" "the strategy read the polled price with apex.price(\"VIX\")"
assert_contains "$(cat "$WORK/run.out")" "saw VIX 18.25" "its signal said so"
kill -0 $pid 2>/dev/null && pass "run keeps running with an HTTP source" || fail "run exited"

# VIX spikes: a poll brings 42.5 and the instruction closes the position (the paper
# broker fills the exit at the next AAPL bar's open).
set_vix 42.5
status=""
for _ in $(seq 1 60); do
  add_bar
  sleep 0.3
  status=$(sq "$WORK/run.db" "SELECT status FROM executions" 2>/dev/null || true)
  [ "$status" = completed ] && break
done
assert_eq "$status" "completed" "the position was closed"
assert_eq "$(sq "$WORK/run.db" "SELECT exit_reason FROM position_exits")" "emergency_instruction" "by the instruction"
assert_contains "$(sq "$WORK/run.db" "SELECT group_concat(message, '|') FROM events")" 'instruction "close if VIX > 40": VIX 42.50 > 40' "on the polled price"

# The server stops answering JSON: the failure is a data_source event, once, not per poll.
printf 'not json' > "$WORK/vix.json.tmp" && mv "$WORK/vix.json.tmp" "$WORK/vix.json"
ev=""
for _ in $(seq 1 50); do
  ev=$(sq "$WORK/run.db" "SELECT message FROM events WHERE kind='data_source'" 2>/dev/null || true)
  [ -n "$ev" ] && break
  sleep 0.1
done
assert_contains "$ev" "VIX from http://127.0.0.1:$port: the response is not JSON" "a failed poll is a data_source event"
sleep 2.2 # two more failed polls of the same kind
n=$(sq "$WORK/run.db" "SELECT count(*) FROM events WHERE kind='data_source'")
assert_eq "$n" "1" "a run of the same failure is reported once"
if grep -q "/v1/quote" "$WORK/run.out"; then fail "the URL's path reached the log"; else pass "messages show the URL's origin only"; fi

kill -TERM $pid
set +e; wait $pid; code=$?; set -e
assert_eq "$code" "0" "SIGTERM stops it with exit 0"
polls=$(grep -c '^REQUEST GET /v1/quote' "$WORK/server.log")
[ "$polls" -ge 3 ] && pass "the source was polled ($polls requests)" || fail "only $polls poll(s)"

# A backtest replays the file and ignores the source (the server is not asked).
before=$(grep -c '^REQUEST' "$WORK/server.log")
out=$("$APEX_HOST" backtest --db "$WORK/bt.db" "$WORK/http.lua" 2>&1) && code=0 || code=$?
assert_eq "$code" "0" "a backtest of a pipeline with data.http runs"
assert_eq "$(grep -c '^REQUEST' "$WORK/server.log")" "$before" "the backtest polled nothing"

# `check` names the source and the field of a bad one, with the file.
cat > "$WORK/bad.lua" <<LUA
return apex.pipeline {
  name = "badhttp", symbols = { "AAPL" },
  data = {
    files = { "$WORK/aapl.csv" },
    http = {
      { symbol = "VIX", url = "http://127.0.0.1:$port/q", price = "data.0.last" },
      { symbol = "VIX", url = "http://127.0.0.1:$port/q", price = "data..last" },
    },
  },
  strategy = "$WORK/vix_buy.lua",
}
LUA
out=$("$APEX_HOST" check "$WORK/bad.lua" 2>&1) && code=0 || code=$?
assert_eq "$code" "3" "check refuses a bad source"
assert_contains "$out" "$WORK/bad.lua: data.http[2].price:" "check names the file, the source and the field"
sed -i 's/price = "data..last"/price = "data.0.last", header_env = "APEX_TEST_NO_SUCH_VAR"/' "$WORK/bad.lua"
out=$(env -u APEX_TEST_NO_SUCH_VAR "$APEX_HOST" check "$WORK/bad.lua" 2>&1) && code=0 || code=$?
assert_contains "$out" "$WORK/bad.lua: data.http[2].header_env: the environment variable APEX_TEST_NO_SUCH_VAR is not set" "check names a header variable that is not set"
out=$(env -u APEX_TEST_NO_SUCH_VAR "$APEX_HOST" run --db "$WORK/bad.db" "$WORK/bad.lua" 2>&1) && code=0 || code=$?
assert_eq "$code" "3" "run refuses it too"
assert_contains "$out" "data.http[2].header_env:" "run names the field"
finish
