# The dashboard in a real browser (issue 12): `apex-host run --http` on the demo data
# (apex-datagen) on the paper broker, the server on 127.0.0.1, and the page opened in
# headless Chromium driven over the DevTools protocol (tests/browser/cdp.mjs). It asserts
# what a trader would look for: every execution the store holds is on the page with its
# status, the MONITORING row says "Monitoring AAPL: <P&L>% P&L" with the P&L the store
# has, the completed one shows its reason, the equity chart is drawn from the store's
# snapshots, and a trade the host makes while the page is open appears without a reload,
# pushed over the WebSocket stream. A second pipeline, in execution.mode = "approval",
# waits for an answer on SPY: the page lists the request, refuses Approve until a token is
# entered, then approves it with the token (kept in sessionStorage only), and the host
# sends the entry.
#
# The demo bars are fed through a followed file a bar time at a time, so the test decides
# when each trade happens: AAPL buys on its 3rd bar and is held (stop and target far
# away), MSFT buys on its 3rd and closes on its 6th, TSLA's bars come only once the page
# is open and it buys on its 3rd. Bars span three demo days: the host writes an equity
# snapshot at each new day.
#
# SCREENSHOT=path.png also writes the page as docs/dashboard.md shows it
# (make dashboard-screenshot).
source "$(dirname "$0")/lib.sh"
CHROMIUM=${CHROMIUM:-$(command -v chromium || true)}
[ -n "$CHROMIUM" ] || { echo "FAIL: no chromium: make deps installs Debian's chromium" >&2; exit 1; }
command -v node > /dev/null || { echo "FAIL: no node: make deps installs Debian's nodejs" >&2; exit 1; }
CDP="$APEX_SOURCE_DIR/tests/browser/cdp.mjs"

"$APEX_DATAGEN" "$WORK/data" > /dev/null
# A free port on 127.0.0.1 (the kernel's choice, released for the host to take).
PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
URL="http://127.0.0.1:$PORT/"

cat > "$WORK/strategy.lua" << 'LUA'
return { on_bar = function(ctx, bar)
  local n = (ctx.state.n or 0) + 1
  ctx.state.n = n
  if n == 3 then
    return { side = "buy", stop_loss = bar.close * 0.5, take_profit = bar.close * 2 }
  end
  -- from the 6th bar on (a fill reaches ctx.position just after the bar that made it)
  if bar.symbol == "MSFT" and n >= 6 and ctx.position then
    return { side = "close", reason = "dashboard test close" }
  end
end }
LUA
cat > "$WORK/dash.lua" << LUA
return apex.pipeline {
  name = "dash", symbols = { "AAPL", "MSFT", "TSLA" },
  data = { files = { "$WORK/live.csv" }, follow = true },
  strategy = "$WORK/strategy.lua",
  risk = { max_position_pct = 0.2, max_risk_pct = 0.01 },
  -- checked and written every second, so the page has a P&L to show within the test
  monitoring = { normal_frequency = 1, urgent_frequency = 1, persist_interval = 1,
                 price_cache_ttl_seconds = 0 },
}
LUA
cat > "$WORK/gate.lua" << LUA
return apex.pipeline {
  name = "gate", symbols = { "SPY" },
  data = { files = { "$WORK/live.csv" }, follow = true },
  strategy = "$WORK/strategy.lua",
  risk = { max_position_pct = 0.2, max_risk_pct = 0.01 },
  execution = { mode = "approval", approval_timeout = 600, approval_tolerance_pct = 1 },
}
LUA
TOKEN="dash-TEST-token-$$"
echo "timestamp,symbol,open,high,low,close,volume,bid,ask" > "$WORK/live.csv"
# One file per demo bar time of the wanted symbols and days, the first N times of each day.
# feed SYMBOLS DAYS N: appends them a bar time at a time (the host reads a followed file
# every 200 ms and acts on what has arrived).
feed() {
  local dir="$WORK/chunks.$RANDOM"
  mkdir -p "$dir"
  awk -F, -v syms=",$1," -v days=",$2," -v n="$3" -v dir="$dir" 'NR > 1 {
    day = substr($1, 1, 10)
    if (index(syms, "," $2 ",") == 0 || index(days, "," day ",") == 0) next
    if (!($1 in seen)) { seen[$1] = 1; if (++per[day] > n) next; k++; file[$1] = sprintf("%s/%05d", dir, k) }
    if ($1 in file) print >> file[$1]
  }' "$WORK/data/bars.csv"
  for f in "$dir"/*; do
    cat "$f" >> "$WORK/live.csv"
    sleep 0.05
  done
}

APEX_HTTP_TOKEN="$TOKEN" "$APEX_HOST" run --db "$WORK/d.db" --fresh --http "127.0.0.1:$PORT" \
  "$WORK/dash.lua" "$WORK/gate.lua" > "$WORK/run.out" 2>&1 &
hpid=$!
trap 'kill $hpid 2> /dev/null || true; wait $hpid 2> /dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do curl -s -o /dev/null "$URL" && break; sleep 0.1; done
curl -s -o /dev/null "$URL" || { echo "FAIL: the host does not serve $URL"; cat "$WORK/run.out"; exit 1; }

feed AAPL,MSFT,SPY 2024-03-04,2024-03-05,2024-03-06 8
want=$(printf 'AAPL:monitoring\nMSFT:completed\nSPY:running')
assert_eq "$(until_sq "$WORK/d.db" "SELECT symbol || ':' || status FROM executions ORDER BY id" "$want")" "$want" \
  "the store holds AAPL monitoring, MSFT completed and SPY running (waiting for approval)"
# The monitor writes AAPL's mark each second: wait for one that is not the entry price.
pct=$(until_sq "$WORK/d.db" "SELECT CASE WHEN unrealized_pnl <> 0 THEN 'moved' END FROM positions WHERE symbol = 'AAPL' AND status = 'open'" moved)
assert_eq "$pct" "moved" "the monitor marked AAPL's position away from its entry"
assert_eq "$(until_sq "$WORK/d.db" "SELECT symbol || ':' || status FROM approvals" "SPY:pending")" "SPY:pending" \
  "SPY's entry waits for approval"
eq_points=$(sq "$WORK/d.db" "SELECT count(*) FROM equity")
[ "$eq_points" -ge 1 ] && pass "the store has $eq_points equity snapshot(s)" || fail "no equity snapshot in the store"

# What the page must show, from the store.
store_execs=$(sq "$WORK/d.db" "SELECT id || ':' || symbol || ':' || status FROM executions ORDER BY id" | paste -sd' ')
msft_reason=$(sq "$WORK/d.db" "SELECT reason FROM executions WHERE symbol = 'MSFT'")

cat > "$WORK/cmds.json" << JSON
[
 {"name": "page loaded and read the API",
  "wait": "Number(document.body.dataset.refreshes || 0) >= 1 && document.querySelectorAll('#executions tr[data-execution]').length >= 2"},
 {"name": "stream connected", "wait": "document.getElementById('conn').textContent === 'live'"},
 {"name": "executions",
  "eval": "[...document.querySelectorAll('#executions tr[data-execution]')].map(r => r.dataset.execution + ':' + r.children[2].textContent + ':' + r.dataset.status).sort((a, b) => parseInt(a) - parseInt(b)).join(' ')"},
 {"name": "monitoring line",
  "wait": "(() => { const r = [...document.querySelectorAll('#executions tr.monitoring')].filter(r => r.children[2].textContent === 'AAPL').map(r => r.querySelector('.monitor-line'))[0]; return r && /[0-9]\\\\.[0-9]%/.test(r.textContent) && !/[+-]?0\\\\.0%/.test(r.textContent) ? r.textContent : ''; })()"},
 {"name": "monitoring badge pulses",
  "eval": "getComputedStyle(document.querySelector('#executions tr.monitoring .status')).animationName"},
 {"name": "completed reason", "eval": "document.querySelector('#executions tr.completed td.reason').textContent"},
 {"name": "equity chart",
  "wait": "(() => { const c = document.getElementById('equity-chart'); if (!c || !(Number(c.dataset.points) >= 1)) return ''; const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return c.dataset.points + ' points, ' + n + ' pixels'; })()"},
 {"name": "AAPL's price chart from its bars", "timeout_ms": 30000,
  "wait": "(() => { const c = document.getElementById('price-AAPL'); return c && Number(c.dataset.bars) > 0 ? c.dataset.bars : ''; })()"},
 {"name": "approval listed", "wait": "(() => { const r = document.querySelector('#approvals tr[data-approval]'); return r ? r.children[2].textContent + ' ' + r.children[3].textContent : ''; })()"},
 {"name": "approve without a token", "eval": "document.querySelector('#approvals button.approve').click(); 'clicked'"},
 {"name": "asks for the token", "wait": "document.getElementById('approval-msg').textContent"},
 {"name": "token entered", "eval": "document.getElementById('token').value = '$TOKEN'; document.getElementById('token-form').requestSubmit(); document.getElementById('token').value === '' && sessionStorage.getItem('apex.token') === '$TOKEN' ? 'stored' : 'not stored'"},
 {"name": "approve", "eval": "document.querySelector('#approvals button.approve').click(); 'clicked'"},
 {"name": "approve answered", "wait": "(() => { const t = document.getElementById('approval-msg').textContent; return t.includes('recorded') || t.includes(': ') && !t.includes('Enter') ? t : ''; })()"},
 {"name": "token kept only in the tab", "eval": "localStorage.length + ' ' + document.cookie.length + ' ' + location.href.includes('$TOKEN') + ' ' + document.body.innerHTML.includes('$TOKEN')"},
 {"name": "approval leaves the table", "wait": "!document.querySelector('#approvals tr[data-approval]')"},
 {"mark": "load stamp before"},
 {"name": "pushes so far", "eval": "Number(document.body.dataset.pushes || 0)"},
 {"name": "ready for TSLA", "eval": "'ready'"},
 {"name": "TSLA appears without a reload", "timeout_ms": 30000,
  "wait": "(() => { const r = [...document.querySelectorAll('#executions tr[data-execution]')].find(r => r.children[2].textContent === 'TSLA'); return r ? r.dataset.execution + ':TSLA:' + r.dataset.status : ''; })()"},
 {"name": "TSLA's event in the feed", "wait": "[...document.querySelectorAll('#events li')].some(li => li.textContent.includes('TSLA'))"},
 {"name": "TSLA's entry price after its fill", "timeout_ms": 30000,
  "wait": "(() => { const r = [...document.querySelectorAll('#executions tr[data-execution]')].find(r => r.children[2].textContent === 'TSLA'); return r ? r.children[6].textContent : ''; })()"},
 {"mark": "load stamp after"},
 {"name": "pushes after", "eval": "Number(document.body.dataset.pushes || 0)"},
 {"name": "JavaScript from the host only",
  "eval": "[...document.scripts].map(s => s.src).concat(performance.getEntriesByType('resource').map(e => e.name)).filter(u => u && !u.startsWith('$URL'.slice(0, -1)) && !u.startsWith('ws://127.0.0.1:$PORT')).join(' ') || 'none'"}
 ,{"name": "ready for a bad reload", "eval": "'ready'"},
 {"name": "failed reload shown", "timeout_ms": 30000, "wait": "(() => { const r = [...document.querySelectorAll('#pipelines tbody tr')].find(r => r.children[0].textContent === 'dash'); const t = r ? r.children[4].textContent : ''; return t.includes('failed') ? t : ''; })()"},
 {"name": "ready for a good reload", "eval": "'ready'"},
 {"name": "good reload shown", "timeout_ms": 30000, "wait": "(() => { const r = [...document.querySelectorAll('#pipelines tbody tr')].find(r => r.children[0].textContent === 'dash'); const t = r ? r.children[4].textContent : ''; return / ok$/.test(t) ? t : ''; })()"},
 {"screenshot": "$WORK/page.png", "width": 1280, "height": 1900}
]
JSON
node --experimental-websocket "$CDP" "$CHROMIUM" "$URL" "$WORK/cmds.json" > "$WORK/cdp.out" 2> "$WORK/cdp.err" &
npid=$!
# TSLA's bars only once the page is open and has read everything above.
# at NAME: waits until the browser run has answered the command NAME (true), or has ended.
at() {
  for _ in $(seq 900); do
    grep -q "\"name\":\"$1\"" "$WORK/cdp.out" && return 0
    kill -0 $npid 2> /dev/null || return 1
    sleep 0.1
  done
  return 1
}
at "ready for TSLA" && feed TSLA 2024-03-07 8
# A save with a syntax error (the old code keeps running), then the good file again.
cp "$WORK/strategy.lua" "$WORK/strategy.good"
at "ready for a bad reload" && printf 'return { on_bar = function(ctx, bar)\n' > "$WORK/strategy.lua"
at "ready for a good reload" && cp "$WORK/strategy.good" "$WORK/strategy.lua"
wait $npid && cdp_rc=0 || cdp_rc=$?
# value NAME: what the browser answered for that command (text as is, numbers as digits).
value() {
  node -e 'for (const l of require("fs").readFileSync(process.argv[1], "utf8").split("\n")) {
    try { const o = JSON.parse(l); if (o.name === process.argv[2] && o.ok) { console.log(o.value); break; } } catch (e) {} }' \
    "$WORK/cdp.out" "$1"
}
if [ "$cdp_rc" -ne 0 ]; then
  fail "the browser run failed:"
  cat "$WORK/cdp.out" "$WORK/cdp.err" >&2
fi

assert_eq "$(value executions)" "$store_execs" "the page lists every execution the store holds, with its symbol and status"
mon=$(value "monitoring line")
upct=$(sq "$WORK/d.db" "SELECT unrealized_pnl_pct FROM positions WHERE symbol = 'AAPL'")
assert_contains "$mon" "Monitoring AAPL: " "the MONITORING row says Monitoring AAPL"
assert_contains "$mon" "% P&L" "with its P&L in percent"
assert_eq "$(value "monitoring badge pulses")" "pulse" "the MONITORING badge pulses"
assert_eq "$(value "approval listed")" "SPY buy" "the pending approval is listed"
assert_contains "$(value "asks for the token")" "Enter the API token" "Approve without a token asks for it"
assert_eq "$(value "token entered")" "stored" "the token is kept in sessionStorage"
assert_contains "$(value "approve answered")" "approve recorded" "Approve with the token is recorded"
assert_eq "$(value "token kept only in the tab")" "0 0 false false" "the token is in no cookie, localStorage, URL or page text"
assert_eq "$(until_sq "$WORK/d.db" "SELECT status || ' ' || answered_by FROM approvals" "approved http")" "approved http" "the store has the approval, answered by http"
assert_eq "$(until_sq "$WORK/d.db" "SELECT status FROM executions WHERE symbol = 'SPY'" monitoring)" "monitoring" "the host sent SPY's entry"
assert_eq "$(value "completed reason")" "$msft_reason" "the completed execution shows its reason"
assert_contains "$(value "equity chart")" " pixels" "the equity chart is drawn"
case "$(value "equity chart")" in *" 0 pixels") fail "the equity canvas is blank" ;; esac
[ "$(value "AAPL's price chart from its bars")" -ge 2 ] 2> /dev/null &&
  pass "AAPL's price chart is drawn from $(value "AAPL's price chart from its bars") of the host's bars" ||
  fail "AAPL's price chart has no bars: '$(value "AAPL's price chart from its bars")'"
assert_contains "$(value "TSLA appears without a reload")" ":TSLA:" "TSLA's execution appeared while the page was open"
tsla_entry=$(sq "$WORK/d.db" "SELECT printf('%.2f', entry_price / 100000000.0) FROM executions WHERE symbol = 'TSLA'")
assert_eq "$(value "TSLA's entry price after its fill")" "$tsla_entry" "and its entry price once it filled, as the store has it"
assert_eq "$(value "load stamp after")" "$(value "load stamp before")" "without a reload"
[ "$(value "pushes after")" -gt "$(value "pushes so far")" ] 2> /dev/null &&
  pass "it came over the push stream ($(value "pushes so far") -> $(value "pushes after") messages)" ||
  fail "no pushed message arrived while TSLA traded"
assert_eq "$(value "JavaScript from the host only")" "none" "every script and resource comes from the host"
reload_err=$(sq "$WORK/d.db" "SELECT message FROM events WHERE kind = 'reload_error' AND pipeline = 'dash' ORDER BY id DESC LIMIT 1")
assert_contains "$(value "failed reload shown")" "failed: $reload_err" "a failed reload shows with the store's error"
assert_contains "$(value "good reload shown")" " ok" "the next good reload shows ok"
# The host stops cleanly with its server and clients gone (and, under ASan, reports nothing).
kill -TERM $hpid
wait $hpid && rc=0 || rc=$?
assert_eq "$rc" "0" "the host stopped on SIGTERM with exit code 0"
if grep -E "Sanitizer|runtime error" "$WORK/run.out" > /dev/null; then
  fail "the sanitizers reported:"
  grep -E -A20 "Sanitizer|runtime error" "$WORK/run.out" | head -60 >&2
fi
echo "store AAPL unrealized_pnl_pct $upct; page: $mon"
[ -z "${SCREENSHOT:-}" ] || cp "$WORK/page.png" "$SCREENSHOT"
[ -z "${KEEP:-}" ] || cp "$WORK/cdp.out" "$WORK/run.out" "$KEEP"
finish
