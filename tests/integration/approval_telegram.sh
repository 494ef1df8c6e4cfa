# execution.mode = "approval" in `apex-host run` on the paper broker, answered through the
# fake Telegram Bot API (tests/fake_telegram): the request arrives as a message with
# Approve/Reject buttons; a press from a user not in execution.approval_user_ids is answered
# "not allowed", recorded, and changes nothing; the allowed user's press approves, is
# answered (answerCallbackQuery), the entry goes to the broker and the message is edited to
# show the outcome; a Reject press skips its execution with who rejected it, and a press
# with a wrong nonce is refused. The CLI sees the same requests. The bot token appears
# nowhere.
source "$(dirname "$0")/lib.sh"
: "${APEX_BUILD_DIR:?set by ctest}"
TOKEN="4242:approval-TEST_token"
start_fake_telegram "$TOKEN"

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
  execution = { mode = "approval", approval_timeout = 300, approval_user_ids = { "1001" } },
  notifications = { telegram = { token_env = "APEX_TEST_BOT_TOKEN", chat_id = "555",
                                 api_url = "$TG" } },
}
LUA
APEX_TEST_BOT_TOKEN="$TOKEN" "$APEX_HOST" run --db "$WORK/a.db" "$WORK/approve.lua" \
  > "$WORK/run.out" 2>&1 &
pid=$!
now=$(date +%s)
for i in 0 1 2 3; do
  echo "$((now + i)),AAPL,100.00,100.20,99.90,100.00,500" >> "$WORK/live.csv"
  echo "$((now + i)),MSFT,100.00,100.20,99.90,100.00,500" >> "$WORK/live.csv"
  sleep 0.3
done

# The request: a row in the store, a message with two buttons.
msg=$(until_sq "$WORK/a.db" "SELECT telegram_message_id FROM approvals WHERE id = 1")
assert_eq "$msg" "1" "the request was sent as Telegram message 1"
nonce=$(sq "$WORK/a.db" "SELECT nonce FROM approvals WHERE id = 1")
sent=$(tg_requests)
assert_contains "$sent" '"method":"sendMessage"' "sendMessage was called"
assert_contains "$sent" '"chat_id":555' "to the configured chat"
assert_contains "$sent" "\"callback_data\":\"ap:1:$nonce\"" "an Approve button ap:1:<nonce>"
assert_contains "$sent" "\"callback_data\":\"rj:1:$nonce\"" "a Reject button rj:1:<nonce>"
assert_contains "$sent" "Approval #1" "the message names the request"
assert_contains "$sent" "stop 95.00, target 120.00: risk " "with the stop, target, risk and reward"
listing=$("$APEX_HOST" approvals --db "$WORK/a.db")
assert_contains "$listing" "#1  approve AAPL buy " "apex-host approvals lists it"
assert_eq "$(sq "$WORK/a.db" "SELECT count(*) FROM orders")" "0" "nothing reached the broker yet"
status=$("$APEX_HOST" status --db "$WORK/a.db" | sed -n '/^APPROVALS WAITING/,/^$/p')
assert_contains "$status" "approve   AAPL    buy" "apex-host status shows the request waiting"

# Mallory (666) is not in approval_user_ids: refused, recorded, nothing changes.
tg_ctl press "{\"chat_id\":555,\"from_id\":666,\"username\":\"mallory\",\"data\":\"ap:1:$nonce\"}" > /dev/null
denied=$(until_sq "$WORK/a.db" "SELECT message FROM events WHERE kind = 'approval_denied'")
assert_contains "$denied" "telegram:666 (@mallory) in chat 555 pressed Approve on approval #1: not allowed (not in execution.approval_user_ids)" "the refused press is recorded"
until_sent 'Not allowed'
assert_contains "$(tg_requests)" "Not allowed: not in execution.approval_user_ids." "mallory's press was answered not allowed"
assert_eq "$(sq "$WORK/a.db" "SELECT status || '/' || coalesce(answer, '-') FROM approvals WHERE id = 1")" "pending/-" "the request still waits"

# Alice (1001) approves.
tg_ctl press "{\"chat_id\":555,\"from_id\":1001,\"username\":\"alice\",\"data\":\"ap:1:$nonce\"}" > /dev/null
st=$(until_sq "$WORK/a.db" "SELECT status FROM executions WHERE id = 1" monitoring)
assert_eq "$st" "monitoring" "the approved entry went to the broker and is monitored"
assert_eq "$(sq "$WORK/a.db" "SELECT status || ' ' || answered_by FROM approvals WHERE id = 1")" "approved telegram:1001 (@alice)" "the answer is recorded with who gave it"
echo "$((now + 10)),AAPL,100.00,100.20,99.90,100.00,500" >> "$WORK/live.csv" # fills the entry
fills=$(until_sq "$WORK/a.db" "SELECT count(*) FROM fills" 1)
assert_eq "$fills" "1" "the entry filled on the paper broker"
until_sent 'editMessageText'
edits=$(tg_requests)
assert_contains "$edits" '"method":"answerCallbackQuery"' "answerCallbackQuery was sent"
assert_contains "$edits" '"text":"Approved."' "alice's press was answered Approved."
assert_contains "$edits" '"method":"editMessageText"' "the message was edited"
assert_contains "$edits" "approved: approval #1 approved by telegram:1001 (@alice)" "to show the outcome"
# MSFT's request (#2, message 2): a stale button is refused, then alice rejects it.
nonce2=$(sq "$WORK/a.db" "SELECT nonce FROM approvals WHERE id = 2")
assert_eq "$(sq "$WORK/a.db" "SELECT symbol || ' ' || telegram_message_id FROM approvals WHERE id = 2")" "MSFT 2" "MSFT's request is message 2"
tg_ctl press "{\"chat_id\":555,\"from_id\":1001,\"username\":\"alice\",\"message_id\":2,\"data\":\"rj:2:0000000000000000\"}" > /dev/null
until_sent 'Unknown approval request'
assert_contains "$(tg_requests)" "Unknown approval request." "a button with a wrong nonce is refused"
tg_ctl press "{\"chat_id\":555,\"from_id\":1001,\"username\":\"alice\",\"message_id\":2,\"data\":\"rj:2:$nonce2\"}" > /dev/null
st=$(until_sq "$WORK/a.db" "SELECT status FROM executions WHERE id = 2" skipped)
assert_eq "$(sq "$WORK/a.db" "SELECT status || ': ' || reason FROM executions WHERE id = 2")" "skipped: approval #2 rejected by telegram:1001 (@alice)" "a Reject press skips the execution"
assert_eq "$(sq "$WORK/a.db" "SELECT status FROM approvals WHERE id = 2")" "rejected" "and the request is rejected"
until_sent 'rejected: approval #2'
assert_contains "$(tg_requests)" "rejected: approval #2 rejected by telegram:1001 (@alice)" "its message was edited to show it"
again=$("$APEX_HOST" approve 1 --db "$WORK/a.db" 2>&1 || true)
assert_contains "$again" "already approved" "a late CLI answer changes nothing"

kill -TERM $pid
set +e; wait $pid; code=$?; set -e
assert_eq "$code" "0" "SIGTERM stops it with exit 0"
leaks=$( (cat "$WORK/run.out"; sqlite3 "$WORK/a.db" .dump) | grep -c -- "$TOKEN" || true)
assert_eq "$leaks" "0" "the bot token appears in no output and nowhere in the store"
finish
