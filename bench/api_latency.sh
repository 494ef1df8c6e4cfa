#!/usr/bin/env bash
# The HTTP API's latency on a store of 10,000+ executions (docs/performance.md, "The HTTP
# API"). Builds the store once with a backtest (BARS bars over SYMS symbols, a strategy
# that enters on bar 3 of every 10 and closes on bar 7, so SYMS x BARS/SYMS/10 round trips),
# serves it with `apex-host serve`, and times N requests of each endpoint with curl
# (time_total: connect, the handler on the loop, the transfer, all on 127.0.0.1).
#   bench/api_latency.sh [N]           (default 50 requests per endpoint)
# Prints one line per endpoint: median and 95th percentile in ms, and the response size.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-50}
BARS=${BARS:-220000}
SYMS=${SYMS:-100}
BUILD=${BUILD:-build}
OUT=bench/out/api
PORT=${PORT:-18777}
mkdir -p "$OUT"
[ -x "$BUILD/apex-host" ] || { echo "build first: make build" >&2; exit 1; }

DB="$OUT/api-$BARS-$SYMS.db"
if [ ! -f "$DB" ]; then
  "$BUILD/apex-datagen" --bars "$BARS" --symbols "$SYMS" "$OUT/gen" >/dev/null
  symbols=$(awk -F, 'NR>1 {print $2}' "$OUT/gen/bars.csv" | sort -u | sed 's/.*/"&"/' | paste -sd, -)
  cat > "$OUT/cycle.lua" <<'LUA'
-- Enters on bar 3 of every 10 of its symbol and closes on bar 7: many short round trips.
return { on_bar = function(ctx, bar)
  ctx.state.n = (ctx.state.n or 0) + 1
  local k = ctx.state.n % 10
  if k == 3 and not ctx.position then
    return { side = "buy", stop_loss = bar.close * 0.5, take_profit = bar.close * 2 }
  end
  if k == 7 and ctx.position then return { side = "close", reason = "bar 7" } end
end }
LUA
  cat > "$OUT/cycle.pipeline.lua" <<LUA
return apex.pipeline {
  name = "cycle", symbols = { $symbols },
  data = { files = { "$PWD/$OUT/gen/bars.csv" } },
  strategy = "$PWD/$OUT/cycle.lua",
  risk = { max_positions = $SYMS, max_position_pct = 0.005, max_risk_pct = 0.001 },
}
LUA
  "$BUILD/apex-host" backtest --quiet --db "$DB" "$OUT/cycle.pipeline.lua"
fi
# A store kept from an older build is migrated first (serve opens stores read-only and
# refuses an older schema).
"$BUILD/apex-host" status --db "$DB" --limit 1 > /dev/null
echo "store: $DB: $(sqlite3 "$DB" "SELECT count(*) FROM executions") executions, $(sqlite3 "$DB" "SELECT count(*) FROM orders") orders, $(sqlite3 "$DB" "SELECT count(*) FROM fills") fills, $(sqlite3 "$DB" "SELECT count(*) FROM events") events"

"$BUILD/apex-host" serve --db "$DB" --http "127.0.0.1:$PORT" > "$OUT/serve.out" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -s -m 1 "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.05; done

mid=$(sqlite3 "$DB" "SELECT id FROM executions ORDER BY id LIMIT 1 OFFSET (SELECT count(*) / 2 FROM executions)")
printf '%-52s %9s %9s %10s\n' endpoint "p50 ms" "p95 ms" bytes
for path in /healthz /readyz /api/v1/pipelines /api/v1/metrics \
            /api/v1/executions "/api/v1/executions?limit=1000" "/api/v1/executions?before=$mid" \
            "/api/v1/executions?status=active" "/api/v1/executions?symbol=SYM042" \
            /api/v1/positions "/api/v1/positions?status=open" /api/v1/orders \
            "/api/v1/orders?limit=1000" /api/v1/fills /api/v1/exits /api/v1/events \
            "/api/v1/events?limit=1000" "/api/v1/events?kind=status" \
            "/api/v1/fills?execution_id=$mid" /api/v1/equity; do
  times=$(for _ in $(seq "$N"); do
    curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$PORT$path"
  done | sort -n)
  p50=$(awk -v n="$N" 'NR == int((n + 1) / 2) { printf "%.2f", $1 * 1000 }' <<<"$times")
  p95=$(awk -v n="$N" 'NR == int(n * 0.95 + 0.5) { printf "%.2f", $1 * 1000 }' <<<"$times")
  bytes=$(curl -s "http://127.0.0.1:$PORT$path" | wc -c)
  printf '%-52s %9s %9s %10s\n' "$path" "$p50" "$p95" "$bytes"
done

# Whether a slow read holds the loop: /healthz (answered on the loop, reads nothing) alone,
# then while two clients read /api/v1/metrics (a scan of the store) back to back. Where
# the scan runs on the loop, healthz waits behind it; on the server's worker thread, it
# does not.
healthz_times() {
  for _ in $(seq "$N"); do
    curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$PORT/healthz"
  done | sort -n | awk -v n="$N" '{ t[NR] = $1 } END { printf "%.2f %.2f", t[int((n + 1) / 2)] * 1000, t[int(n * 0.95 + 0.5)] * 1000 }'
}
alone=$(healthz_times)
hammer() { while :; do curl -s -o /dev/null "http://127.0.0.1:$PORT/api/v1/metrics"; done; }
hammer & h1=$!
hammer & h2=$!
sleep 0.5
loaded=$(healthz_times)
kill $h1 $h2 2>/dev/null || true
wait $h1 $h2 2>/dev/null || true
printf '%-52s %9s %9s\n' "/healthz alone" $alone
printf '%-52s %9s %9s\n' "/healthz while 2 clients read /api/v1/metrics" $loaded
