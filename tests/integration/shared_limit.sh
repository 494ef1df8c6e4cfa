# One rate limiter per broker account: two pipelines on one paper account (broker.state)
# with different monitoring.max_api_calls_per_minute get one limiter, the smallest limit,
# and are told so (a warning and a `rate_limit` event); their broker calls together stay
# within that one limit over the run. Pipelines with accounts of their own are not warned.
source "$(dirname "$0")/lib.sh"
demo_setup
ACCT="$WORK/limit.paper"
# One trading day (390 minutes) of the demo bars, so the run's span is known.
head -1 "$WORK/data/bars.csv" > "$WORK/day.csv"
awk -F, 'NR > 1 && $1 < "2024-03-05T00:00:00Z"' "$WORK/data/bars.csv" >> "$WORK/day.csv"
first=$(sed -n 2p "$WORK/day.csv" | cut -d, -f1)
last=$(tail -1 "$WORK/day.csv" | cut -d, -f1)
minutes=$(( ($(date -u -d "$last" +%s) - $(date -u -d "$first" +%s)) / 60 + 1 ))

# pipeline file, limit, shared (1) or own account (0)
make_pipeline() {
  local state=""
  [ "$3" = 1 ] && state=", state = '$ACCT'"
  sed -e "s#broker = { kind = \"paper\", starting_cash = 100000 },#broker = { kind = \"paper\", starting_cash = 100000$state }, monitoring = { max_api_calls_per_minute = $2 },#" \
      -e "s#$WORK/data/bars.csv#$WORK/day.csv#" \
      "$WORK/pipelines/$1.lua" > "$WORK/l_$1.lua"
  grep -q "max_api_calls_per_minute = $2" "$WORK/l_$1.lua"
}

make_pipeline ma_trend 30 1 && make_pipeline rsi_reversion 2 1 &&
  pass "two pipelines on one account, limits 30 and 2" || { fail "could not rewrite the pipelines"; finish; }
"$APEX_HOST" backtest --db "$WORK/l.db" "$WORK/l_ma_trend.lua" "$WORK/l_rsi_reversion.lua" > "$WORK/l.out" 2>&1
assert_contains "$(cat "$WORK/l.out")" "the account's limit is now 2 calls a minute" "the second pipeline is warned that the smallest limit applies"
ev=$(sq "$WORK/l.db" "SELECT count(*) FROM events WHERE kind = 'rate_limit' AND pipeline = 'rsi-reversion' AND message LIKE '%limit is now 2 calls a minute%'")
assert_eq "$ev" "1" "the store records which limit applies (a rate_limit event)"
calls=$(grep -o 'broker calls [0-9]*' "$WORK/l.out" | awk '{ s += $3 } END { print s + 0 }')
n=$(grep -c 'broker calls' "$WORK/l.out")
assert_eq "$n" "2" "both pipelines report their broker calls"
# The limiter counts simulated time in a backtest: at 2 a minute over the day's minutes,
# both pipelines together (each alone would be allowed as many).
[ "$calls" -gt 0 ] && [ "$calls" -le $((2 * minutes)) ] &&
  pass "both pipelines' broker calls together ($calls) stay within one limit of 2/min over $minutes minutes" ||
  fail "broker calls $calls exceed 2/min over $minutes minutes for the account"

# Accounts of their own: each keeps its own limiter, nobody is warned.
make_pipeline ma_trend 30 0 && make_pipeline rsi_reversion 2 0
"$APEX_HOST" backtest --db "$WORK/o.db" "$WORK/l_ma_trend.lua" "$WORK/l_rsi_reversion.lua" > "$WORK/o.out" 2>&1
ev=$(sq "$WORK/o.db" "SELECT count(*) FROM events WHERE kind = 'rate_limit'")
assert_eq "$ev" "0" "pipelines with accounts of their own are not warned"
finish
