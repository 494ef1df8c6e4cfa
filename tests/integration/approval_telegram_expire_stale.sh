# The two other ends of an approval request answered (or not) through the fake Telegram Bot
# API (tests/fake_telegram), in `apex-host run` on the paper broker:
# - expired: nobody presses a button within execution.approval_timeout; the execution is
#   `skipped` with the expiry as its reason, the request is `expired`, the Telegram message
#   is edited to say so, its buttons gone (the host stops polling for presses);
# - stale: the allowed user presses Approve after the price moved beyond
#   execution.approval_tolerance_pct; the execution is `skipped` with the staleness as its
#   reason, the request is `stale`, the message is edited to say so, and no order reaches
#   the broker.
# approval_telegram.sh covers approve, reject, refused presses and the CLI. The bot token
# appears nowhere.
source "$(dirname "$0")/lib.sh"
: "${APEX_BUILD_DIR:?set by ctest}"
TOKEN="4242:expire-TEST_token"
start_fake_telegram "$TOKEN"

cat > "$WORK/third.lua" <<'LUA'
-- Buys on the 3rd bar it sees, with a stop at 95 and a target at 120; logs every close.
return { on_bar = function(ctx, bar)
  ctx.state.n = (ctx.state.n or 0) + 1
  ctx.log("bar %d close %.2f", ctx.state.n, bar.close)
  if ctx.state.n == 3 then return { side = "buy", stop_loss = 95, take_profit = 120 } end
end }
LUA
# pipeline NAME TIMEOUT: a pipeline on MSFT, followed from $WORK/NAME.csv, in approval mode.
pipeline() {
  printf 'timestamp,symbol,open,high,low,close,volume\n' > "$WORK/$1.csv"
  cat > "$WORK/$1.lua" <<LUA
return apex.pipeline {
  name = "$1", symbols = { "MSFT" },
  data = { files = { "$WORK/$1.csv" }, follow = true },
  strategy = "$WORK/third.lua",
  risk = { max_position_pct = 0.2, max_risk_pct = 0.01 },
  execution = { mode = "approval", approval_timeout = $2, approval_user_ids = { "1001" },
                approval_tolerance_pct = 0.01 },
  notifications = { telegram = { token_env = "APEX_TEST_BOT_TOKEN", chat_id = "555",
                                 api_url = "$TG" } },
}
LUA
}
# bars NAME FROM TO CLOSE: MSFT bars at now+FROM .. now+TO seconds, all at CLOSE.
bars() {
  local now i
  now=$(date +%s)
  for i in $(seq "$2" "$3"); do
    echo "$((now + i)),MSFT,$4,$4,$4,$4,500" >> "$WORK/$1.csv"
    sleep 0.3
  done
}
stop_run() {
  kill -TERM "$1"
  set +e; wait "$1"; local code=$?; set -e
  assert_eq "$code" "0" "SIGTERM stops it with exit 0"
}

# ---- expired: a 2-second timeout and no press ----
pipeline expire 2
APEX_TEST_BOT_TOKEN="$TOKEN" "$APEX_HOST" run --db "$WORK/e.db" "$WORK/expire.lua" \
  > "$WORK/e.out" 2>&1 &
pid=$!
bars expire 0 3 100.00
msg=$(until_sq "$WORK/e.db" "SELECT telegram_message_id FROM approvals WHERE id = 1")
assert_eq "$msg" "1" "the request was sent as Telegram message 1"
nonce=$(sq "$WORK/e.db" "SELECT nonce FROM approvals WHERE id = 1")
assert_contains "$(tg_requests)" "\"callback_data\":\"ap:1:$nonce\"" "with an Approve button"
until_sq "$WORK/e.db" "SELECT status FROM executions WHERE id = 1" skipped > /dev/null
assert_eq "$(sq "$WORK/e.db" "SELECT status || ': ' || reason FROM executions WHERE id = 1")" \
  "skipped: approval #1 expired: no answer within 2 s (execution.approval_timeout)" \
  "an unanswered request skips its execution with the expiry as the reason"
assert_eq "$(sq "$WORK/e.db" "SELECT status || ' ' || coalesce(answered_by, '-') FROM approvals WHERE id = 1")" \
  "expired -" "the request is expired, answered by nobody"
until_sent '"method":"editMessageText"'
edit=$(tg_requests | jq -c '[.requests[] | select(.method == "editMessageText")]')
assert_contains "$edit" '"message_id":1' "message 1 was edited"
assert_contains "$edit" "expired: approval #1 expired: no answer within 2 s (execution.approval_timeout)" \
  "to say the request expired"
assert_eq "$(jq '.[0].body | has("reply_markup")' <<<"$edit")" "false" "and its buttons are gone"
# A press that comes after the expiry is still answered, with what became of the request.
tg_ctl press "{\"chat_id\":555,\"from_id\":1001,\"username\":\"alice\",\"message_id\":1,\"data\":\"ap:1:$nonce\"}" > /dev/null
until_sent '"method":"answerCallbackQuery"'
late=$(tg_requests | jq -r '[.requests[] | select(.method == "answerCallbackQuery") | .body.text] | .[0]')
assert_contains "$late" "approval 1 (" "a late press is answered"
assert_contains "$late" "already expired" "with the request's fate, not \"Already answered.\""
assert_eq "$(sq "$WORK/e.db" "SELECT status || ' ' || coalesce(answered_by, '-') FROM approvals WHERE id = 1")" \
  "expired -" "and the late press changes nothing"
bars expire 10 10 100.00
assert_eq "$(sq "$WORK/e.db" "SELECT count(*) FROM orders")" "0" "no order reached the broker"
stop_run $pid

# ---- stale: Approve pressed after a 3% move, with a 1% tolerance ----
tg_ctl reset "{}" > /dev/null
pipeline stale 300
APEX_TEST_BOT_TOKEN="$TOKEN" "$APEX_HOST" run --db "$WORK/s.db" "$WORK/stale.lua" \
  > "$WORK/s.out" 2>&1 &
pid=$!
bars stale 0 3 100.00
msg=$(until_sq "$WORK/s.db" "SELECT telegram_message_id FROM approvals WHERE id = 1")
[ -n "$msg" ] || fail "the stale request was never sent to Telegram"
nonce=$(sq "$WORK/s.db" "SELECT nonce FROM approvals WHERE id = 1")
assert_eq "$(sq "$WORK/s.db" "SELECT status FROM approvals WHERE id = 1")" "pending" "the request waits"
assert_contains "$(tg_requests)" "stop 95.00, target 120.00" "its message shows the stop and target"
bars stale 5 5 103.00 # the price moves 3% while the request waits
for _ in $(seq 100); do grep -q 'close 103.00' "$WORK/s.out" && break; sleep 0.1; done
assert_contains "$(cat "$WORK/s.out")" "close 103.00" "the host saw the move"
tg_ctl press "{\"chat_id\":555,\"from_id\":1001,\"username\":\"alice\",\"message_id\":$msg,\"data\":\"ap:1:$nonce\"}" > /dev/null
until_sq "$WORK/s.db" "SELECT status FROM executions WHERE id = 1" skipped > /dev/null
reason="approval #1 approved by telegram:1001 (@alice), but stale: the price moved from 100.00 to 103.00 (3.00%), beyond execution.approval_tolerance_pct 1.00%; not sent"
assert_eq "$(sq "$WORK/s.db" "SELECT status || ': ' || reason FROM executions WHERE id = 1")" \
  "skipped: $reason" "an approval after the move skips the execution as stale"
assert_eq "$(sq "$WORK/s.db" "SELECT status || ' / ' || answered_by || ' / ' || outcome FROM approvals WHERE id = 1")" \
  "stale / telegram:1001 (@alice) / $reason" "the request is stale, with who approved it"
until_sent '"method":"editMessageText"'
answers=$(tg_requests | jq -c '[.requests[] | select(.method == "answerCallbackQuery") | .body.text]')
assert_eq "$answers" '["Approved."]' "alice's press was answered"
edit=$(tg_requests | jq -c '[.requests[] | select(.method == "editMessageText")]')
assert_contains "$edit" "\"message_id\":$msg" "its message was edited"
assert_contains "$edit" "stale: $reason" "to say the approval came too late"
bars stale 10 10 103.00 # a bar that would fill an order sent
assert_eq "$(sq "$WORK/s.db" "SELECT count(*) FROM orders")" "0" "no order reached the broker"
assert_eq "$(sq "$WORK/s.db" "SELECT count(*) FROM fills")" "0" "nothing filled"
stop_run $pid

leaks=$( (cat "$WORK/e.out" "$WORK/s.out" "$WORK/tg.err"; tg_requests; sqlite3 "$WORK/e.db" .dump; sqlite3 "$WORK/s.db" .dump) | grep -c -- "$TOKEN" || true)
assert_eq "$leaks" "0" "the bot token appears in no output and nowhere in the store"
finish
