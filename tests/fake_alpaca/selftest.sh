#!/usr/bin/env bash
# selftest.sh: the fake Alpaca server checked with curl and its WebSocket client.
# Run by ctest as fake_alpaca.selftest (FAKE_ALPACA and FAKE_ALPACA_WSCLIENT name the
# binaries); by hand: FAKE_ALPACA=build/fake-alpaca FAKE_ALPACA_WSCLIENT=build/fake-alpaca-wsclient
# bash tests/fake_alpaca/selftest.sh
set -uo pipefail

FAKE=${FAKE_ALPACA:?FAKE_ALPACA must name the fake-alpaca binary}
WSC=${FAKE_ALPACA_WSCLIENT:?FAKE_ALPACA_WSCLIENT must name fake-alpaca-wsclient}
TMP=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }
check() { # check NAME CONDITION...
  local name=$1; shift
  if "$@"; then ok "$name"; else bad "$name"; fi
}
has() { grep -q -- "$2" "$1"; }
# wait_for FILE PATTERN: up to 5 s for a line to appear
wait_for() {
  for _ in $(seq 50); do grep -q -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}

"$FAKE" --port 0 --key k1 --secret s1 >"$TMP/server.out" 2>"$TMP/server.err" &
PIDS+=($!)
wait_for "$TMP/server.out" '^listening ' || { echo "server did not start"; cat "$TMP/server.err"; exit 1; }
PORT=$(sed -n 's/^listening 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$TMP/server.out")
B=http://127.0.0.1:$PORT
AUTH=(-H "APCA-API-KEY-ID: k1" -H "APCA-API-SECRET-KEY: s1")

# api METHOD PATH [BODY]: the body in $TMP/body, the status in $CODE, curl's exit in $RC
api() {
  local args=(-s -m 3 -o "$TMP/body" -D "$TMP/headers" -w '%{http_code}' -X "$1" "${AUTH[@]}")
  [ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' --data "$3")
  : >"$TMP/body"
  CODE=$(curl "${args[@]}" "$B$2"); RC=$?
}
ctl() { curl -s -m 3 -X POST "$B/_control/$1" --data "$2" >"$TMP/ctl"; }

# --- auth ---
CODE=$(curl -s -o "$TMP/body" -w '%{http_code}' "$B/v2/account")
check "no keys: 403" [ "$CODE" = 403 ]
CODE=$(curl -s -o "$TMP/body" -w '%{http_code}' -H "APCA-API-KEY-ID: k1" -H "APCA-API-SECRET-KEY: no" "$B/v2/account")
check "wrong secret: 401 40110000" [ "$CODE" = 401 ] && has "$TMP/body" 40110000
api GET /v2/account
check "account: cash as a decimal string" has "$TMP/body" '"cash":"100000"'

# --- streams: trade_updates and market data ---
"$WSC" --port "$PORT" --path /stream --timeout 30 \
  --send '{"action":"auth","key":"k1","secret":"s1"}' \
  --send '{"action":"listen","data":{"streams":["trade_updates"]}}' >"$TMP/trade.out" &
PIDS+=($!)
"$WSC" --port "$PORT" --path /v2/iex --timeout 30 \
  --send '{"action":"auth","key":"k1","secret":"s1"}' \
  --send '{"action":"subscribe","bars":["AAPL"]}' >"$TMP/data.out" &
PIDS+=($!)
"$WSC" --port "$PORT" --path /v1beta1/news --timeout 30 \
  --send '{"action":"auth","key":"k1","secret":"s1"}' \
  --send '{"action":"subscribe","news":["TSLA"]}' >"$TMP/news.out" &
PIDS+=($!)
check "trade stream: authorized and listening" wait_for "$TMP/trade.out" '"stream":"listening","data":{"streams":\["trade_updates"\]}'
check "data stream: connected, authenticated, subscribed" wait_for "$TMP/data.out" '"T":"subscription".*"bars":\["AAPL"\]'
has "$TMP/data.out" '"msg":"connected"' && has "$TMP/data.out" '"msg":"authenticated"' ||
  bad "data stream: connected and authenticated messages"

check "news stream: subscribed" wait_for "$TMP/news.out" '"T":"subscription".*"news":\["TSLA"\]'
ctl news '{"headline":"Not for this stream","symbols":["MSFT"]}'
ctl news '{"headline":"Tesla recalls","symbols":["TSLA","F"],"created_at":"2024-01-02T15:00:30Z"}'
check "news stream: the article for its symbol arrives" wait_for "$TMP/news.out" '"T":"n","id":2,"headline":"Tesla recalls"'
[ "$(grep -c 'Tesla recalls' "$TMP/news.out")" = 1 ] || bad "news stream: the article arrived more than once"
! has "$TMP/news.out" 'Not for this stream' || bad "news stream: an article for another symbol arrived"

# --- a bracket order, filled by a pushed price ---
api POST /v2/orders '{"symbol":"AAPL","qty":"10","side":"buy","type":"market","time_in_force":"day","order_class":"bracket","client_order_id":"br-1","take_profit":{"limit_price":"110"},"stop_loss":{"stop_price":"95.5"}}'
check "bracket order: 200, new, two held legs" [ "$CODE" = 200 ]
has "$TMP/body" '"status":"new"' && [ "$(grep -o '"status":"held"' "$TMP/body" | wc -l)" = 2 ] ||
  bad "bracket order body: $(head -c 300 "$TMP/body")"
ctl bar '{"symbol":"AAPL","o":100,"h":100.5,"l":99.5,"c":100.25,"v":1200,"t":"2024-01-02T15:00:00Z"}'
check "data stream: the pushed bar arrives" wait_for "$TMP/data.out" '"T":"b","S":"AAPL","o":100,"h":100.5,"l":99.5,"c":100.25,"v":1200,"t":"2024-01-02T15:00:00Z"'
api GET "/v2/orders:by_client_order_id?client_order_id=br-1"
check "bracket entry filled at the bar's close" has "$TMP/body" '"filled_avg_price":"100.25","order_class":"bracket"'
check "bracket legs active after the fill" [ "$(grep -o '"status":"new"' "$TMP/body" | wc -l)" = 2 ]
api GET /v2/positions/AAPL
check "position: 10 AAPL at 100.25" has "$TMP/body" '"qty":"10","avg_entry_price":"100.25","side":"long"'
check "trade stream: the fill arrives" wait_for "$TMP/trade.out" '"event":"fill".*"client_order_id":"br-1"'
check "trade stream: fill has price, qty, position_qty" wait_for "$TMP/trade.out" '"price":"100.25","qty":"10","position_qty":"10"'

# --- errors Alpaca gives ---
api GET /v2/positions/MSFT
check "unknown position: 404 40410000" [ "$CODE" = 404 ] && has "$TMP/body" '{"code":40410000,"message":"position does not exist"}'
api POST /v2/orders '{"symbol":"AAPL","qty":"1","side":"buy","type":"market","time_in_force":"day","client_order_id":"br-1"}'
check "duplicate client_order_id: 422 40010001" [ "$CODE" = 422 ] && has "$TMP/body" '{"code":40010001,"message":"client_order_id must be unique"}'
api POST /v2/orders '{"symbol":"AAPL","qty":"10","side":"sell","type":"market","time_in_force":"day"}'
check "selling qty held by the bracket legs: 403" [ "$CODE" = 403 ] && has "$TMP/body" 'insufficient qty available'

# --- the take-profit leg fills, the stop is canceled (OCO) ---
ctl bar '{"symbol":"AAPL","c":110.5,"t":"2024-01-02T15:01:00Z"}'
api GET /v2/positions/AAPL
check "take profit closes the position" [ "$CODE" = 404 ]
api GET "/v2/orders?status=closed&nested=true"
check "take profit filled, stop canceled" has "$TMP/body" '"limit_price":"110","stop_price":null,"status":"filled"'
has "$TMP/body" '"stop_price":"95.5","status":"canceled"' || bad "stop leg canceled"
api GET /v2/account
check "cash after the round trip: +102.5" has "$TMP/body" '"cash":"100102.5"'

# --- faults ---
ctl fault '{"kind":"500","method":"GET","path":"/v2/account"}'
api GET /v2/account
check "fault 500" [ "$CODE" = 500 ]
api GET /v2/account
check "fault 500 is one-shot" [ "$CODE" = 200 ]
ctl fault '{"kind":"429","path":"/v2/clock","retry_after":3,"count":2}'
api GET /v2/clock
check "fault 429 with Retry-After: 3" [ "$CODE" = 429 ] && grep -qi '^retry-after: 3' "$TMP/headers"
api GET /v2/clock
check "fault 429 twice (count 2)" [ "$CODE" = 429 ]
api GET /v2/clock
check "then the clock answers" [ "$CODE" = 200 ] && has "$TMP/body" '"is_open":true'
ctl fault '{"kind":"hang","path":"/v2/clock"}'
api GET /v2/clock
check "fault hang: the client times out" [ "$RC" = 28 ]
ctl fault '{"kind":"reset","path":"/v2/clock"}'
api GET /v2/clock
check "fault reset: connection reset" [ "$RC" = 56 ]
ctl fault '{"kind":"truncated","path":"/v2/clock","process":true}'
api GET /v2/clock
check "fault truncated: body shorter than Content-Length" [ "$RC" = 18 ]
ctl fault '{"kind":"malformed","path":"/v2/clock","process":true}'
api GET /v2/clock
check "fault malformed: 200 with broken JSON" [ "$CODE" = 200 ] && has "$TMP/body" '"qty": ,,'

# --- the lost response: the order exists, the client never heard ---
ctl fault '{"kind":"drop_response","method":"POST","path":"/v2/orders"}'
api POST /v2/orders '{"symbol":"MSFT","qty":"3","side":"buy","type":"limit","limit_price":"50","time_in_force":"gtc","client_order_id":"lost-1"}'
check "lost response: no reply" [ "$RC" = 52 ] && [ "$CODE" = 000 ]
api GET "/v2/orders:by_client_order_id?client_order_id=lost-1"
check "lost response: the order exists by client_order_id" [ "$CODE" = 200 ] && has "$TMP/body" '"client_order_id":"lost-1"'
curl -s "$B/_control/counters" >"$TMP/counters"
check "counters: lost-1 sent once, br-1 twice" has "$TMP/counters" '"br-1":2,"lost-1":1'
check "counters: requests per path" has "$TMP/counters" '"POST /v2/orders":4'

# --- a position closed by hand, and canceling ---
api POST /v2/orders '{"symbol":"TSLA","qty":"2","side":"buy","type":"market","time_in_force":"day","client_order_id":"t-1"}'
ctl quote '{"symbol":"TSLA","bp":199.9,"ap":200.1,"bs":1,"as":1}'
api GET /v2/positions/TSLA
check "market buy fills at the ask" has "$TMP/body" '"qty":"2","avg_entry_price":"200.1"'
ctl close_position '{"symbol":"TSLA"}'
api GET /v2/positions/TSLA
check "closed by hand: position gone" [ "$CODE" = 404 ]
api DELETE "/v2/orders/$(grep -o '"id":"[^"]*"' <(curl -s "${AUTH[@]}" "$B/v2/orders:by_client_order_id?client_order_id=lost-1") | head -1 | cut -d'"' -f4)"
check "cancel an open order: 204" [ "$CODE" = 204 ]
api GET "/v2/orders:by_client_order_id?client_order_id=lost-1"
check "canceled" has "$TMP/body" '"status":"canceled"'

# --- market data REST ---
api GET "/v2/stocks/bars?symbols=AAPL&timeframe=1Min&start=2024-01-02T00:00:00Z&end=2024-01-03T00:00:00Z"
check "bars" has "$TMP/body" '{"bars":{"AAPL":\[{"t":"2024-01-02T15:00:00Z","o":100,"h":100.5,"l":99.5,"c":100.25,"v":1200'
api GET "/v2/stocks/quotes/latest?symbols=TSLA"
check "latest quote" has "$TMP/body" '{"quotes":{"TSLA":{"t":'
api GET "/v2/stocks/snapshots?symbols=AAPL"
check "snapshot" has "$TMP/body" '"latestTrade":{'

# --- calendar (weekdays), replace ---
api GET "/v2/calendar?start=2024-01-05&end=2024-01-09"
check "calendar: Fri, Mon, Tue" [ "$(grep -o '"date":"[0-9-]*"' "$TMP/body" | tr -d '\n')" = '"date":"2024-01-05""date":"2024-01-08""date":"2024-01-09"' ]
api POST /v2/orders '{"symbol":"QQQ","qty":"1","side":"buy","type":"limit","limit_price":"300","time_in_force":"gtc","client_order_id":"r-1"}'
old=$(grep -o '"id":"[^"]*"' "$TMP/body" | head -1 | cut -d'"' -f4)
api PATCH "/v2/orders/$old" '{"limit_price":"301.5","client_order_id":"r-2"}'
check "replace: a new order that replaces the old" has "$TMP/body" "\"replaces\":\"$old\""
api GET "/v2/orders:by_client_order_id?client_order_id=r-1"
check "replace: the old order is replaced" has "$TMP/body" '"status":"replaced"'

# --- market closed: orders are accepted and wait for the open ---
ctl settings '{"market":"closed"}'
api GET /v2/clock
check "clock: closed" has "$TMP/body" '"is_open":false'
api POST /v2/orders '{"symbol":"IBM","qty":"1","side":"buy","type":"market","time_in_force":"day","client_order_id":"m-1"}'
check "market closed: accepted" has "$TMP/body" '"status":"accepted"'
ctl trade '{"symbol":"IBM","p":150}'
api GET "/v2/orders:by_client_order_id?client_order_id=m-1"
check "market closed: no fill" has "$TMP/body" '"status":"accepted"'
ctl settings '{"market":"open"}'
ctl trade '{"symbol":"IBM","p":151}'
api GET "/v2/orders:by_client_order_id?client_order_id=m-1"
check "market open: filled at the next price" has "$TMP/body" '"filled_avg_price":"151"'

# --- account activities: every fill (bracket entry and leg, by hand, partials), in order ---
ctl settings '{"auto_fill":false}'
api POST /v2/orders '{"symbol":"MSFT","qty":"5","side":"buy","type":"limit","limit_price":"60","time_in_force":"gtc","client_order_id":"pf-1"}'
pf1=$(grep -o '"id":"[^"]*"' "$TMP/body" | head -1 | cut -d'"' -f4)
ctl fill '{"client_order_id":"pf-1","qty":"2","price":"59"}'
ctl fill '{"client_order_id":"pf-1","qty":"1.5","price":"59.5"}'
ctl fill '{"client_order_id":"pf-1","price":"60"}'
api POST /v2/orders '{"symbol":"MSFT","qty":"4","side":"buy","type":"limit","limit_price":"61","time_in_force":"gtc","client_order_id":"pf-2"}'
ctl fill '{"client_order_id":"pf-2","qty":"1","price":"60.5"}'
ctl settings '{"auto_fill":true}'
# objs FILE: one JSON object of a flat array per line; field KEY: its string value per line
objs() { sed 's/^\[//; s/\]$//; s/},{/}\n{/g' "$1" | grep -v '^$'; }
field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }
# summary FILE: "symbol side qty price type order_status cum_qty leaves_qty" per activity
summary() {
  objs "$1" | while IFS= read -r o; do
    echo "$(for k in symbol side qty price type order_status cum_qty leaves_qty; do printf '%s ' "$(field "$k" <<<"$o")"; done)"
  done
}
ids() { objs "$1" | field id; }
api GET "/v2/account/activities/FILL?direction=asc"
cp "$TMP/body" "$TMP/asc"
expected='AAPL buy 10 100.25 fill filled 10 0 
AAPL sell 10 110.5 fill filled 10 0 
TSLA buy 2 200.1 fill filled 2 0 
TSLA sell 2 199.9 fill filled 2 0 
IBM buy 1 151 fill filled 1 0 
MSFT buy 2 59 partial_fill partially_filled 2 3 
MSFT buy 1.5 59.5 partial_fill partially_filled 3.5 1.5 
MSFT buy 1.5 60 fill filled 5 0 
MSFT buy 1 60.5 partial_fill partially_filled 1 3 '
check "activities asc: 200, all 9 fills in order" [ "$CODE" = 200 -a "$(summary "$TMP/asc")" = "$expected" ] ||
  summary "$TMP/asc"
first=$(ids "$TMP/asc" | head -1)
check "activity id: YYYYMMDDhhmmssSSS::uuid at the fill's time" grep -Eq '^20240102150100000::[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' <<<"$first"
check "activity: activity_type, transaction_time, order_id" has "$TMP/asc" '"activity_type":"FILL","transaction_time":"2024-01-02T15:01:00.000000Z","type":"fill"'
check "activity id's uuid is the stream's execution_id" has "$TMP/trade.out" "\"execution_id\":\"${first#*::}\""
check "activities: ids unique" [ "$(ids "$TMP/asc" | sort -u | wc -l)" = 9 ]
api GET /v2/account/activities/FILL
cp "$TMP/body" "$TMP/desc"
check "activities: desc by default, the reverse of asc" [ "$(ids "$TMP/desc")" = "$(ids "$TMP/asc" | tac)" ]
api GET "/v2/account/activities?activity_types=FILL,DIV"
check "activities?activity_types=FILL,DIV: the fills" [ "$(ids "$TMP/body")" = "$(ids "$TMP/desc")" ]
api GET /v2/account/activities
check "activities (no type): the fills" [ "$(ids "$TMP/body")" = "$(ids "$TMP/desc")" ]
api GET "/v2/account/activities?activity_types=DIV"
check "activities?activity_types=DIV: []" [ "$CODE" = 200 -a "$(cat "$TMP/body")" = '[]' ]
api GET /v2/account/activities/DIV
check "activities/DIV: []" [ "$CODE" = 200 -a "$(cat "$TMP/body")" = '[]' ]
api GET /v2/account/activities/FFFFF
check "activities/FFFFF: 422 invalid activity type" \
  [ "$CODE" = 422 -a "$(cat "$TMP/body")" = '{"code":40010001,"message":"invalid activity type: FFFFF"}' ]
CODE=$(curl -s -o "$TMP/body" -w '%{http_code}' "$B/v2/account/activities/FILL")
check "activities without keys: 403" [ "$CODE" = 403 ]
check "partial order: cum_qty 2, 3.5, 5; leaves_qty 3, 1.5, 0" \
  [ "$(objs "$TMP/asc" | grep "\"order_id\":\"$pf1\"" | while IFS= read -r o; do printf '%s/%s ' "$(field cum_qty <<<"$o")" "$(field leaves_qty <<<"$o")"; done)" = '2/3 3.5/1.5 5/0 ' ]
# paging: page_token is the id of the last activity of the previous page
page_all() { # page_all DIRECTION: every page of 4, ids one per line; pages' sizes in $TMP/sizes
  local tok='' n
  : >"$TMP/sizes"
  while :; do
    api GET "/v2/account/activities/FILL?direction=$1&page_size=4${tok:+&page_token=$tok}"
    n=$(ids "$TMP/body" | wc -l)
    echo "$n" >>"$TMP/sizes"
    [ "$n" = 0 ] && break
    ids "$TMP/body"
    tok=$(ids "$TMP/body" | tail -1)
  done
}
check "paging asc: pages of 4, 4, 1, 0 cover asc" [ "$(page_all asc)" = "$(ids "$TMP/asc")" -a "$(tr '\n' ' ' <"$TMP/sizes")" = '4 4 1 0 ' ]
check "paging desc: pages of 4, 4, 1, 0 cover desc" [ "$(page_all desc)" = "$(ids "$TMP/desc")" -a "$(tr '\n' ' ' <"$TMP/sizes")" = '4 4 1 0 ' ]
api GET "/v2/account/activities/FILL?page_size=0"
check "page_size=0: 422" [ "$CODE" = 422 ]
api GET "/v2/account/activities/FILL?page_token=20240102150100000::nope"
check "unknown page_token: 422" [ "$CODE" = 422 ]
api GET "/v2/account/activities/FILL?date=2024-01-02"
check "date=2024-01-02: all 9" [ "$(ids "$TMP/body" | wc -l)" = 9 ]
api GET "/v2/account/activities/FILL?date=2024-01-03"
check "date=2024-01-03: []" [ "$(cat "$TMP/body")" = '[]' ]
api GET "/v2/account/activities/FILL?until=2024-01-02T15:02:00Z"
check "until (exclusive): the bracket entry only" [ "$(ids "$TMP/body")" = "$first" ]
api GET "/v2/account/activities/FILL?after=2024-01-02T15:01:00Z"
check "after (exclusive): the other 8" [ "$(ids "$TMP/body" | wc -l)" = 8 ]
# the qty of an order's fills adds up to its filled_qty, for every order
api GET "/v2/orders?status=all&limit=500"
objs "$TMP/body" | while IFS= read -r o; do echo "O $(field id <<<"$o") $(field filled_qty <<<"$o")"; done >"$TMP/sums"
objs "$TMP/asc" | while IFS= read -r o; do echo "A $(field order_id <<<"$o") $(field qty <<<"$o")"; done >>"$TMP/sums"
check "sum of fill qty per order_id = the order's filled_qty ($(grep -c '^O' "$TMP/sums") orders)" \
  awk '$1 == "O" { f[$2] = $3 + 0; n++ } $1 == "A" { s[$2] += $3 } END {
    for (k in s) if (!(k in f)) exit 1
    for (k in f) if (f[k] != s[k] + 0) exit 1
    exit n < 10 } ' "$TMP/sums"

# --- the stream drops mid-message ---
ctl fault '{"kind":"ws_drop","path":"/v2/iex"}'
ctl bar '{"symbol":"AAPL","c":111,"t":"2024-01-02T15:02:00Z"}'
check "ws_drop: the data stream closes mid-message" wait_for "$TMP/data.out" '^closed$'
check "ws_drop: the cut message is not delivered" [ "$(grep -c '"c":111' "$TMP/data.out")" = 0 ]

# --- reset forgets the fills ---
ctl reset '{}'
api GET /v2/account/activities/FILL
check "after /_control/reset: no activities" [ "$CODE" = 200 -a "$(cat "$TMP/body")" = '[]' ]

# --- crypto (a '/' in the symbol): own paths and shapes, fractional, around the clock ---
ctl settings '{"market":"closed"}'
ctl bar '{"symbol":"BTC/USD","o":43240.0625,"h":43255.5,"l":43239.875,"c":43250.125,"v":0.0123,"t":"2024-01-02T15:10:00Z"}'
api GET "/v1beta3/crypto/us/bars?symbols=BTC%2FUSD&timeframe=1Min"
check "crypto bars: fractional volume, exact" has "$TMP/body" '{"bars":{"BTC/USD":.{"t":"2024-01-02T15:10:00Z","o":43240.0625,"h":43255.5,"l":43239.875,"c":43250.125,"v":0.0123,'
ctl quote '{"symbol":"BTC/USD","bp":43250.1,"ap":43251.2,"bs":0.5,"as":1.25}'
api GET "/v1beta3/crypto/us/snapshots?symbols=BTC%2FUSD"
check "crypto snapshots: under \"snapshots\"" has "$TMP/body" '{"snapshots":{"BTC/USD":{"latestTrade":'
api GET "/v1beta3/crypto/us/latest/quotes?symbols=BTC/USD"
check "crypto latest quote: no exchanges, fractional sizes" has "$TMP/body" '"ap":43251.2,"as":1.25,"bp":43250.1,"bs":0.5}'
api POST /v2/orders '{"symbol":"BTC/USD","qty":"0.015","side":"buy","type":"market","time_in_force":"day"}'
check "crypto order with day: 422" [ "$CODE" = 422 ] && has "$TMP/body" 'invalid crypto time_in_force'
api POST /v2/orders '{"symbol":"BTC/USD","qty":"0.015","side":"buy","type":"market","time_in_force":"gtc","client_order_id":"btc-1"}'
check "crypto order with gtc: new while stocks are closed" [ "$CODE" = 200 ] && has "$TMP/body" '"status":"new"'
ctl quote '{"symbol":"BTC/USD","bp":43250.1,"ap":43251.2}'
api GET "/v2/orders:by_client_order_id?client_order_id=btc-1"
check "crypto order: filled, fractional qty exact" has "$TMP/body" '"asset_class":"crypto","notional":null,"qty":"0.015","filled_qty":"0.015","filled_avg_price":"43251.2"'

if [ "$fails" -ne 0 ]; then
  echo "$fails check(s) failed"
  echo "--- server stderr"; tail -20 "$TMP/server.err"
  echo "--- trade stream"; cut -c1-300 "$TMP/trade.out"
  echo "--- data stream"; cat "$TMP/data.out"
  exit 1
fi
echo "all checks passed"
