#!/usr/bin/env bash
# selftest.sh: the fake Telegram Bot API server checked with curl.
# Run by ctest as fake_telegram.selftest (FAKE_TELEGRAM names the binary); by hand:
# FAKE_TELEGRAM=build/fake-telegram bash tests/fake_telegram/selftest.sh
set -uo pipefail

FAKE=${FAKE_TELEGRAM:?FAKE_TELEGRAM must name the fake-telegram binary}
TMP=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

fails=0
check() { # check NAME CONDITION...
  local name=$1; shift
  if "$@"; then echo "ok   $name"; else echo "FAIL $name"; fails=$((fails + 1)); fi
}
has() { grep -q -- "$2" "$1"; }
wait_for() {
  for _ in $(seq 50); do grep -q -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}

TOKEN=777:self-test_TOKEN
"$FAKE" --port 0 --token "$TOKEN" >"$TMP/server.out" 2>"$TMP/server.err" &
PIDS+=($!)
wait_for "$TMP/server.out" '^listening ' || { echo "server did not start"; cat "$TMP/server.err"; exit 1; }
PORT=$(sed -n 's/^listening 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$TMP/server.out")
B=http://127.0.0.1:$PORT

# bot METHOD [BODY]: the answer in $TMP/body, the status in $CODE, curl's exit in $RC
bot() {
  : >"$TMP/body"
  CODE=$(curl -s -m "${MAXT:-3}" -o "$TMP/body" -D "$TMP/headers" -w '%{http_code}' \
    -H 'Content-Type: application/json' --data "${2:-{\}}" "$B/bot$TOKEN/$1"); RC=$?
}
ctl() { curl -s -m 3 -X POST "$B/_control/$1" --data "${2:-{\}}" >"$TMP/ctl"; }

# --- the token and getMe ---
CODE=$(curl -s -o "$TMP/body" -w '%{http_code}' --data '{}' "$B/bot1:wrong/getMe")
check "wrong token: 401 Unauthorized" [ "$CODE" = 401 ] && has "$TMP/body" '"description":"Unauthorized"'
bot getMe
check "getMe: the bot" [ "$CODE" = 200 ] && has "$TMP/body" '"is_bot":true'

# --- sendMessage with an inline keyboard, then editMessageText ---
bot sendMessage '{"chat_id":111,"text":"Buy AAPL?","reply_markup":{"inline_keyboard":[[{"text":"Approve","callback_data":"ap:1"},{"text":"Reject","callback_data":"rj:1"}]]}}'
check "sendMessage: ok, message_id 1, the keyboard echoed" [ "$CODE" = 200 ] &&
  has "$TMP/body" '"message_id":1' && has "$TMP/body" '"callback_data":"ap:1"'
bot sendMessage '{"chat_id":0,"text":"x"}'
check "sendMessage to chat 0: 400 chat not found" [ "$CODE" = 400 ] && has "$TMP/body" 'chat not found'
bot sendMessage "{\"chat_id\":111,\"text\":\"x\",\"reply_markup\":{\"inline_keyboard\":[[{\"text\":\"A\",\"callback_data\":\"$(printf 'x%.0s' $(seq 65))\"}]]}}"
check "callback_data of 65 bytes: 400 BUTTON_DATA_INVALID" [ "$CODE" = 400 ] && has "$TMP/body" BUTTON_DATA_INVALID
bot editMessageText '{"chat_id":111,"message_id":1,"text":"Buy AAPL? approved"}'
check "editMessageText: ok, the buttons gone" [ "$CODE" = 200 ] && has "$TMP/body" 'approved' && ! has "$TMP/body" reply_markup
bot editMessageText '{"chat_id":111,"message_id":1,"text":"Buy AAPL? approved"}'
check "the same edit again: 400 message is not modified" [ "$CODE" = 400 ] && has "$TMP/body" 'not modified'
bot editMessageText '{"chat_id":111,"message_id":99,"text":"x"}'
check "editing an unknown message: 400" [ "$CODE" = 400 ] && has "$TMP/body" 'message to edit not found'

# --- getUpdates: an injected press, offsets, long polling ---
bot getUpdates '{"offset":0,"timeout":0}'
check "no updates yet: []" [ "$CODE" = 200 ] && has "$TMP/body" '"result":\[\]'
ctl press '{"chat_id":111,"from_id":5,"username":"alice","data":"ap:1"}'
check "press injected: update 1, query q1" has "$TMP/ctl" '"update_id":1' && has "$TMP/ctl" '"callback_query_id":"q1"'
bot getUpdates '{"offset":0,"timeout":0}'
check "the press: id, from, chat, message, data" has "$TMP/body" '"callback_query":{' &&
  has "$TMP/body" '"id":"q1"' && has "$TMP/body" '"username":"alice"' &&
  has "$TMP/body" '"message_id":1' && has "$TMP/body" '"data":"ap:1"' && has "$TMP/body" '"id":111'
bot answerCallbackQuery '{"callback_query_id":"q1","text":"Approved"}'
check "answerCallbackQuery: true" [ "$CODE" = 200 ] && has "$TMP/body" '"result":true'
bot answerCallbackQuery '{"callback_query_id":"q1"}'
check "answering it twice: 400" [ "$CODE" = 400 ]
bot getUpdates '{"offset":2,"timeout":0}'
check "offset 2 confirms update 1: []" has "$TMP/body" '"result":\[\]'
# a long poll that an injected message answers
MAXT=10 bot getUpdates '{"offset":2,"timeout":5}' &
poll=$!
sleep 0.5
ctl message '{"chat_id":111,"from_id":5,"text":"/status"}'
wait $poll
check "long poll answered by an injected message" has "$TMP/body" '"text":"/status"' && has "$TMP/body" '"update_id":2'
MAXT=10 bot getUpdates '{"offset":3,"timeout":1}'
check "long poll with nothing: [] at the timeout" [ "$CODE" = 200 ] && has "$TMP/body" '"result":\[\]'

# --- faults ---
ctl fault '{"kind":"429","method":"sendMessage","retry_after":7}'
bot sendMessage '{"chat_id":111,"text":"x"}'
check "fault 429: parameters.retry_after and Retry-After" [ "$CODE" = 429 ] &&
  has "$TMP/body" '"parameters":{"retry_after":7}' && grep -qi '^retry-after: 7' "$TMP/headers"
ctl fault '{"kind":"500"}'
bot getMe
check "fault 500 (any method)" [ "$CODE" = 500 ]
bot getMe
check "faults are one-shot" [ "$CODE" = 200 ]
ctl fault '{"kind":"hang","method":"sendMessage"}'
MAXT=1 bot sendMessage '{"chat_id":111,"text":"x"}'
check "fault hang: the client times out" [ "$RC" = 28 ]

# --- the record of requests ---
curl -s "$B/_control/requests" >"$TMP/requests"
check "requests: method and body recorded" has "$TMP/requests" '"method":"sendMessage","body":{"chat_id":111,"text":"Buy AAPL?"'
check "requests: faults marked" has "$TMP/requests" '"fault":"429"'
! has "$TMP/requests" "$TOKEN" || { echo "FAIL the token is in the record"; fails=$((fails + 1)); }
curl -s "$B/_control/messages" >"$TMP/messages"
check "messages: the edited text" has "$TMP/messages" '"text":"Buy AAPL? approved"'
ctl reset
curl -s "$B/_control/requests" >"$TMP/requests"
check "reset: no requests" has "$TMP/requests" '"requests":\[\]'

if [ "$fails" -ne 0 ]; then
  echo "$fails check(s) failed"
  tail -20 "$TMP/server.err"
  exit 1
fi
echo "all checks passed"
