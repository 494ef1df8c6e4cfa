# backtest --report and --trades (issue 12, items 5 and 6): the HTML report is one file
# with no external reference, renders in headless Chromium with both charts drawn, and
# lists exactly the store's trades; the CSV and JSON exports round-trip against the store
# to the unit; the progress line shows on a terminal only, never with --quiet or a pipe.
source "$(dirname "$0")/lib.sh"
demo_setup
P="$WORK/pipelines/ma_trend.lua $WORK/pipelines/rsi_reversion.lua"
rc=0
"$APEX_HOST" backtest --db "$WORK/bt.db" --report "$WORK/report.html" \
  --trades "$WORK/trades.csv" $P > "$WORK/out.txt" 2> "$WORK/err.txt" || rc=$?
assert_eq "$rc" "0" "backtest with --report and --trades exits 0"
assert_contains "$(cat "$WORK/out.txt")" "report written to $WORK/report.html" "says where the report is"
assert_contains "$(cat "$WORK/out.txt")" "trades written to $WORK/trades.csv" "says where the trades are"
trades=$(sq "$WORK/bt.db" "SELECT count(*) FROM positions WHERE status = 'closed'")
if [ "$trades" -ge 10 ]; then pass "the demo closes trades ($trades)"; else fail "expected >= 10 trades, got $trades"; fi

# No progress line: stderr is a file here.
PROGRESS='\[[#.]{20}\] +[0-9]+%'
if grep -qE "$PROGRESS" "$WORK/err.txt" || grep -q $'\r' "$WORK/err.txt"; then
  fail "a progress line was written to a non-terminal stderr: $(head -c 300 "$WORK/err.txt")"
else
  pass "no progress line when stderr is not a terminal"
fi

# ---- the report: self-contained ----
H="$WORK/report.html"
if [ -s "$H" ]; then pass "the report exists"; else fail "no report at $H"; fi
ext=$( (grep -oiE "(src|href)[[:space:]]*=|<link" "$H" || true; grep -oE "@import|url\(" "$H" || true) | head -3)
assert_eq "$ext" "" "no src/href to another resource, no <link>, @import or url(): self-contained"
assert_contains "$(grep -c "Chart.js v" "$H")" "1" "Chart.js is inlined"

# ---- rendered in headless Chromium, from the file, no server ----
CHROME=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROME" ]; then
  fail "chromium is not installed (make deps installs it)"
else
  timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu --no-first-run \
    --user-data-dir="$WORK/chrome" --virtual-time-budget=5000 \
    --dump-dom "file://$H" > "$WORK/dom.html" 2> "$WORK/chrome.err"
  # After Chart.js draws a chart the page stores the length of its PNG data URL on the
  # canvas (data-drawn), and that of a blank canvas of the same size (data-blank, about
  # 3,000 bytes here): a drawn line chart compresses to several times more.
  for id in equity-0 drawdown-0 equity-1 drawdown-1; do
    tag=$(grep -oE "<canvas id=\"$id\"[^>]*>" "$WORK/dom.html" || true)
    drawn=$(grep -oE 'data-drawn="[0-9]+"' <<<"$tag" | tr -dc '0-9' || true)
    blank=$(grep -oE 'data-blank="[0-9]+"' <<<"$tag" | tr -dc '0-9' || true)
    if [ -n "$drawn" ] && [ -n "$blank" ] && [ "$drawn" -gt $((2 * blank)) ]; then
      pass "chart $id drawn ($drawn bytes of PNG, blank $blank)"
    else
      fail "chart $id not drawn: $tag"
    fi
  done
  # The report and the summary show the same numbers (one module computes both).
  for m in "Sharpe ratio:Sharpe" "Sortino ratio:Sortino" "Calmar ratio:Calmar"; do
    page=$(grep -oE "<th class=\"l\">${m%%:*}</th><td>[^<]*" "$WORK/dom.html" | sed 's/.*<td>//' | paste -sd' ' -)
    text=$(grep -oE "  ${m#*:} [^ ]+" "$WORK/out.txt" | awk '{print $2}' | paste -sd' ' -)
    if [ -z "$page" ]; then fail "no ${m%%:*} in the rendered report"; fi
    assert_eq "$page" "$text" "the report's ${m%%:*} ($page) is the summary's, per pipeline"
  done
  # The trade list equals the store's trades: execution id, symbol and P&L, row by row.
  grep -oE '<tr class="trade"><td>[0-9]+</td><td class="l">[^<]*</td>(<td[^>]*>[^<]*</td>){7}' "$WORK/dom.html" |
    sed -E 's#<tr class="trade"><td>([0-9]+)</td><td class="l">([^<]*)</td>(<td[^>]*>[^<]*</td>){6}<td[^>]*>([^<]*)</td>#\1,\2,\4#' \
    > "$WORK/dom_trades.csv"
  sqlite3 -batch "$WORK/bt.db" "CREATE TABLE dom_trades (id INTEGER, symbol TEXT, pnl TEXT)" \
    ".import --csv $WORK/dom_trades.csv dom_trades"
  n=$(sq "$WORK/bt.db" "SELECT count(*) FROM dom_trades")
  assert_eq "$n" "$trades" "the rendered trade list has one row per closed position"
  bad=$(sq "$WORK/bt.db" "SELECT count(*) FROM positions p JOIN executions e ON e.id = p.execution_id
    LEFT JOIN dom_trades d ON d.id = e.id WHERE p.status = 'closed' AND (d.id IS NULL
    OR d.symbol != p.symbol OR CAST(round(d.pnl * 1e8) AS INTEGER) != e.realized_pnl)")
  assert_eq "$bad" "0" "each rendered trade is the store's: id, symbol and P&L to the unit"
fi

# ---- the CSV export round-trips against the store, to the unit ----
sqlite3 -batch "$WORK/bt.db" ".import --csv $WORK/trades.csv csv_trades"
Q="FROM csv_trades c JOIN executions e ON e.id = c.execution_id JOIN positions p ON p.execution_id = e.id"
n=$(sq "$WORK/bt.db" "SELECT count(*) FROM csv_trades")
assert_eq "$n" "$trades" "the CSV has one row per closed position"
bad=$(sq "$WORK/bt.db" "SELECT count(*) $Q WHERE c.symbol != p.symbol OR c.pipeline != e.pipeline
  OR CAST(round(c.pnl * 1e8) AS INTEGER) != e.realized_pnl OR CAST(round(c.fees * 1e8) AS INTEGER) != e.fees
  OR CAST(round(c.qty * 1e8) AS INTEGER) != p.initial_quantity OR CAST(round(c.entry_price * 1e8) AS INTEGER) != p.entry_price
  OR c.exit_reason != coalesce(p.exit_reason, '') OR c.side != CASE p.side WHEN 'buy' THEN 'long' ELSE 'short' END
  OR c.exit_time != strftime('%Y-%m-%dT%H:%M:%SZ', p.closed_at / 1000000, 'unixepoch')")
assert_eq "$bad" "0" "every CSV field equals the store's row (P&L, fees, qty, prices to 1e-8)"
# The exit price is the closing fills' average: quantity-weighted, for every trade.
bad=$(sq "$WORK/bt.db" "SELECT count(*) $Q WHERE abs(c.exit_price * 1e8 - (SELECT sum(f.qty * 1.0 * f.price) / sum(f.qty) FROM fills f WHERE f.execution_id = e.id AND f.side != p.side)) > 1")
assert_eq "$bad" "0" "every exit price is the average of the closing fills"

# ---- JSON: the same rows ----
rc=0
"$APEX_HOST" backtest --quiet --db "$WORK/bt2.db" --trades "$WORK/trades.json" $P > /dev/null 2>&1 || rc=$?
assert_eq "$rc" "0" "backtest --trades x.json exits 0"
sqlite3 -batch "$WORK/bt2.db" "CREATE TABLE j AS SELECT value AS v FROM json_each(readfile('$WORK/trades.json'))"
n=$(sq "$WORK/bt2.db" "SELECT count(*) FROM j")
assert_eq "$n" "$trades" "the JSON has one object per closed position"
bad=$(sq "$WORK/bt2.db" "SELECT count(*) FROM j JOIN executions e ON e.id = json_extract(v, '\$.execution_id')
  WHERE CAST(round(json_extract(v, '\$.pnl') * 1e8) AS INTEGER) != e.realized_pnl
  OR json_extract(v, '\$.symbol') != e.symbol OR json_extract(v, '\$.exit_reason') IS NULL")
assert_eq "$bad" "0" "every JSON trade's P&L and symbol equal the store's"

# ---- the summary: span, per-symbol bars, a declared symbol without data ----
out=$(cat "$WORK/out.txt")
assert_contains "$out" "ma-trend  2024-03-04 14:30 to 2024-03-08 20:59 UTC" "the summary gives the data's span"
bars=$(grep -E "^  AAPL +[0-9]+" "$WORK/out.txt" | head -1 | awk '{print $2}')
assert_eq "$bars" "1950" "the per-symbol table counts AAPL's bars (5 days x 390)"
if grep -q "cache hits" "$WORK/out.txt"; then fail "the summary still says 'cache hits'"; else
  pass "no internal jargon (cache hits) in the summary"; fi
sed 's/symbols = { "AAPL", "TSLA" }/symbols = { "AAPL", "TSLA", "QQQ" }/' "$WORK/pipelines/ma_trend.lua" \
  > "$WORK/pipelines/ma_trend_qqq.lua"
out=$("$APEX_HOST" backtest --quiet --db "$WORK/qqq.db" "$WORK/pipelines/ma_trend_qqq.lua" 2>&1 || true)
assert_contains "$out" "warning: QQQ is in symbols but the data has no bars for it; check data.files" \
  "a declared symbol without bars is a warning in the summary"
assert_contains "$out" "  QQQ                 0       0           0.00       n/a" "and a row of 0 bars"

# ---- bad input ----
rc=0
out=$("$APEX_HOST" backtest --trades "$WORK/t.txt" $P 2>&1) || rc=$?
assert_eq "$rc" "2" "--trades with another extension is a usage error"
assert_contains "$out" "--trades: '$WORK/t.txt' must end in .csv or .json" "and says what to do"

# ---- the progress line on a terminal (script gives the run a pty) ----
if command -v script >/dev/null; then
  script -qec "'$APEX_HOST' backtest --db '$WORK/tty.db' '$WORK/pipelines/ma_trend.lua'" "$WORK/tty.txt" > /dev/null 2>&1 || true
  if grep -qE "$PROGRESS" "$WORK/tty.txt"; then pass "a terminal shows the progress line"; else
    fail "no progress line on a terminal: $(tail -c 300 "$WORK/tty.txt")"; fi
  script -qec "'$APEX_HOST' backtest --quiet --db '$WORK/tty2.db' '$WORK/pipelines/ma_trend.lua'" "$WORK/tty2.txt" > /dev/null 2>&1 || true
  if grep -qE "$PROGRESS" "$WORK/tty2.txt"; then fail "--quiet still drew a progress line"; else
    pass "--quiet draws no progress line on a terminal"; fi
fi
finish
