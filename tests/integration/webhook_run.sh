# The webhook tool end to end (issue 10.3): `apex-host run` posts each signal to a receiver
# on 127.0.0.1 (build/webhook-receiver) and completes the execution on the answer.
#  - a 200: every execution completed with the status in its reason, one post each, no
#    broker order; each body is the signal, signed with HMAC-SHA256 over its bytes (checked
#    with `openssl dgst`, an implementation independent of the host's), with its
#    execution's Idempotency-Key; the URL's token and the key appear in no output, log or
#    store row;
#  - a 500: every execution failed after the retries, with the receiver's words;
#  - a backtest posts nothing.
source "$(dirname "$0")/lib.sh"
: "${APEX_BUILD_DIR:?set by ctest}"
"$APEX_DATAGEN" "$WORK/data" >/dev/null
KEY="whk-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
TOKEN="T0KEN-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"

start_receiver() { # mode: sets RPID and PORT
  : > "$WORK/$1.log"
  "$APEX_BUILD_DIR/webhook-receiver" "$1" "$WORK/$1.log" > "$WORK/$1.port" &
  RPID=$!
  for _ in $(seq 1 100); do [ -s "$WORK/$1.port" ] && break; sleep 0.05; done
  PORT=$(awk '{print $2}' "$WORK/$1.port")
}

pipeline() { # file port retries
  cat > "$1" <<LUA
return apex.pipeline {
    name = "hook",
    symbols = { "AAPL", "TSLA" },
    data = { files = { "$WORK/data/bars.csv" } },
    strategy = { file = "$APEX_SOURCE_DIR/strategies/ma_cross.lua", params = { fast = 10, slow = 30 } },
    execution = { tool = "webhook", webhook_url = "http://127.0.0.1:$2/hook/$TOKEN",
                  webhook_secret_env = "APEX_TEST_WEBHOOK_KEY", webhook_retries = $3,
                  webhook_timeout_seconds = 5 },
}
LUA
}

export APEX_TEST_WEBHOOK_KEY=$KEY

# ---- a receiver that accepts ----
start_receiver ok
pipeline "$WORK/ok.lua" "$PORT" 2
"$APEX_HOST" run --speed 100000 --max-seconds 30 --db "$WORK/ok.db" "$WORK/ok.lua" > "$WORK/ok.out" 2>&1 || true
kill "$RPID"; wait "$RPID" 2>/dev/null || true
DB="$WORK/ok.db"
n=$(sq "$DB" "SELECT count(*) FROM executions")
[ "$n" -gt 5 ] && pass "$n signals became executions" || fail "only $n executions"
done_ok=$(sq "$DB" "SELECT count(*) FROM executions WHERE status='completed' AND reason LIKE 'webhook http://127.0.0.1:$PORT: HTTP 200 after 1 attempt'")
assert_eq "$done_ok" "$n" "every execution completed with the receiver's 200 in its reason"
posts=$(grep -c '^REQUEST POST /hook/' "$WORK/ok.log")
assert_eq "$posts" "$n" "one post per execution, none repeated after a success"
assert_eq "$(sq "$DB" "SELECT count(*) FROM orders")" "0" "no broker order"
keys=$(grep -c '^Idempotency-Key: hook-[0-9]*' "$WORK/ok.log")
assert_eq "$keys" "$n" "each post carries its execution's Idempotency-Key"

# Each body against its signature, with OpenSSL's command line.
bad=0 checked=0
while IFS= read -r -d $'\x1e' rec; do
  sig=$(sed -n 's/^X-Apex-Signature: sha256=\([0-9a-f]*\).*/\1/p' <<<"$rec" | tr -d '\r')
  len=$(sed -n 's/^BODY \([0-9]*\)$/\1/p' <<<"$rec")
  body=$(awk 'f { print } /^BODY / { f = 1 }' <<<"$rec" | head -c "$len")
  want=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$KEY" -r | cut -d' ' -f1)
  [ -n "$sig" ] && [ "$sig" = "$want" ] || bad=$((bad + 1))
  checked=$((checked + 1))
done < <(awk 'NR > 1 && /^REQUEST / { printf "\x1e" } { print } END { printf "\x1e" }' "$WORK/ok.log")
assert_eq "$checked/$bad" "$n/0" "every signature verifies with openssl dgst -hmac over the body received"
first=$(awk '/^BODY / { getline; print; exit }' "$WORK/ok.log")
assert_contains "$first" '"pipeline":"hook","execution_id":1,"symbol":"' "the body is the signal as JSON"
sym=$(sq "$DB" "SELECT symbol || ' ' || side FROM executions WHERE id=1")
assert_contains "$first" "\"symbol\":\"${sym% *}\",\"side\":\"${sym#* }\"" "the body names execution 1's symbol and side"

leaks=$( (cat "$WORK/ok.out"; sqlite3 "$DB" .dump) | grep -c -e "$TOKEN" -e "$KEY" || true)
assert_eq "$leaks" "0" "neither the URL's token nor the signing key is in the output or the store"

# ---- a receiver that fails ----
start_receiver fail
pipeline "$WORK/fail.lua" "$PORT" 1
"$APEX_HOST" run --speed 100000 --max-seconds 60 --db "$WORK/fail.db" "$WORK/fail.lua" > "$WORK/fail.out" 2>&1 || true
kill "$RPID"; wait "$RPID" 2>/dev/null || true
DB="$WORK/fail.db"
n=$(sq "$DB" "SELECT count(*) FROM executions")
failed=$(sq "$DB" "SELECT count(*) FROM executions WHERE status='failed' AND reason LIKE '%HTTP 500 after 2 attempts: {\"error\":\"queue full\"}'")
[ "$n" -gt 0 ] && assert_eq "$failed" "$n" "every execution failed after 1 retry, with the receiver's words" || fail "no execution against the failing receiver"
posts=$(grep -c '^REQUEST POST /hook/' "$WORK/fail.log")
assert_eq "$posts" "$((2 * n))" "two posts per execution (the first and one retry), no more"

# ---- a backtest posts nothing ----
start_receiver ok
pipeline "$WORK/bt.lua" "$PORT" 2
: > "$WORK/ok.log"
"$APEX_HOST" backtest --quiet --db "$WORK/bt.db" "$WORK/bt.lua" > "$WORK/bt.out" 2>&1 || true
kill "$RPID"; wait "$RPID" 2>/dev/null || true
assert_eq "$(grep -c '^REQUEST' "$WORK/ok.log" || true)" "0" "a backtest posts nothing"
nb=$(sq "$WORK/bt.db" "SELECT count(*) FROM executions WHERE status='completed' AND reason LIKE '%not posted in a backtest'")
[ "$nb" -gt 0 ] && pass "backtest executions complete as not posted ($nb)" || fail "backtest executions: $(sq "$WORK/bt.db" "SELECT status, reason FROM executions LIMIT 3")"
finish
