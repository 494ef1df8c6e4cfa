# `apex-host run` on a live feed (data.follow = true) trades rows as they are appended
# to the file, keeps running at the end of the data, and stops cleanly on SIGTERM.
source "$(dirname "$0")/lib.sh"
cat > "$WORK/live.csv" <<'CSV'
timestamp,symbol,open,high,low,close,volume
CSV
cat > "$WORK/every3.lua" <<'LUA'
-- Buys on the 3rd bar it sees.
return { on_bar = function(ctx, bar)
  ctx.state.n = (ctx.state.n or 0) + 1
  if ctx.state.n == 3 then return { side = "buy", reason = "third live bar" } end
end }
LUA
cat > "$WORK/live.lua" <<LUA
return apex.pipeline {
  name = "live", symbols = { "AAPL" },
  data = { files = { "$WORK/live.csv" }, follow = true },
  strategy = "$WORK/every3.lua",
}
LUA
"$APEX_HOST" run --db "$WORK/live.db" "$WORK/live.lua" > "$WORK/live.out" 2>&1 &
pid=$!
now=$(date +%s)
for i in 0 1 2 3 4; do
  t=$((now + i))
  echo "$t,AAPL,100.00,100.20,99.90,100.10,500" >> "$WORK/live.csv"
  sleep 0.4
done
for _ in $(seq 1 50); do
  n=$(sq "$WORK/live.db" "SELECT count(*) FROM executions WHERE status='monitoring'" 2>/dev/null || echo 0)
  [ "$n" = "1" ] && break
  sleep 0.1
done
assert_eq "$n" "1" "a signal from appended rows became a monitored position"
kill -0 $pid 2>/dev/null && pass "the host keeps running after the last row" || fail "the host exited at the end of the data"
fills=$(sq "$WORK/live.db" "SELECT count(*) FROM fills")
assert_eq "$fills" "1" "the entry filled on the paper broker"
kill -TERM $pid
set +e; wait $pid; code=$?; set -e
assert_eq "$code" "0" "SIGTERM stops it with exit 0"
assert_contains "$(cat "$WORK/live.out")" "SIGNAL   AAPL" "the signal was printed as it happened"
finish
