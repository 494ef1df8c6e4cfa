# Notifications end to end (issue 11, item 4): `apex-host run` on the paper broker, with a
# pipeline that trades, tells a fake Telegram (build/fake-telegram: two chats) and a webhook
# receiver (build/webhook-receiver) about every entry, fill and exit:
#  - each chat got one message per entry, per fill and per exit, with the numbers the store
#    holds (the realized P&L of each completed execution, each fill's price);
#  - the webhook got the same events as JSON (its default body: every field, money as exact
#    decimals), each with an Idempotency-Key;
#  - every row of the outbox was sent, none is pending or failed;
#  - the bot token is in no output, no log and no store row;
#  - a backtest of the same pipeline sends nothing and queues nothing;
#  - `run` with the token's variable unset stops at once, naming it.
source "$(dirname "$0")/lib.sh"
: "${APEX_BUILD_DIR:?set by ctest}"
"$APEX_DATAGEN" "$WORK/data" >/dev/null
TOKEN="4242$(od -An -N3 -tu4 /dev/urandom | tr -d ' \n'):AAH-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
export APEX_TEST_TG_TOKEN=$TOKEN

start_fake_telegram "$TOKEN"
: > "$WORK/hook.log"
"$APEX_BUILD_DIR/webhook-receiver" ok "$WORK/hook.log" > "$WORK/hook.port" &
kill_at_exit $!
for _ in $(seq 1 100); do [ -s "$WORK/hook.port" ] && break; sleep 0.05; done
HPORT=$(awk '{print $2}' "$WORK/hook.port")

cat > "$WORK/p.lua" <<LUA
return apex.pipeline {
    name = "note",
    symbols = { "AAPL", "TSLA" },
    data = { files = { "$WORK/data/bars.csv" } },
    strategy = { file = "$APEX_SOURCE_DIR/strategies/ma_cross.lua", params = { fast = 10, slow = 30 } },
    notifications = {
        telegram = { token_env = "APEX_TEST_TG_TOKEN", chat_id = { 111, "-100222" },
                     api_url = "$TG" },
        webhooks = { "http://127.0.0.1:$HPORT/notify" },
        rate_limit_per_minute = 600,
    },
}
LUA

DB="$WORK/run.db"
# Every trading run here replays at 30,000x, not 100,000x: on a loaded machine a faster
# replay outruns each entry's preparation (every signal is then skipped as stale: "the
# price moved while the entry was prepared").
"$APEX_HOST" run --speed 30000 --max-seconds 120 --db "$DB" "$WORK/p.lua" > "$WORK/run.out" 2>&1 || true
tg_requests > "$WORK/requests.json"

completed=$(sq "$DB" "SELECT count(*) FROM executions WHERE status='completed'")
fills=$(sq "$DB" "SELECT count(*) FROM fills")
entries=$(sq "$DB" "SELECT count(*) FROM executions WHERE id IN (SELECT execution_id FROM orders WHERE role='entry' AND status <> 'rejected')")
failed=$(sq "$DB" "SELECT count(*) FROM executions WHERE status='failed'")
[ "$completed" -ge 1 ] && pass "$completed executions completed" || fail "only $completed completed: $(tail -5 "$WORK/run.out")"

assert_eq "$(sq "$DB" "SELECT count(*) FROM notifications WHERE status <> 'sent'")" "0" \
  "every notification was sent (none pending or failed)"
assert_eq "$(sq "$DB" "SELECT count(*) FROM notifications WHERE kind='exit' AND channel='telegram:111'")" \
  "$completed" "one exit notification per completed execution"
assert_eq "$(sq "$DB" "SELECT count(*) FROM notifications WHERE kind='fill' AND channel='webhook:1'")" \
  "$fills" "one fill notification per fill"
assert_eq "$(sq "$DB" "SELECT count(*) FROM notifications WHERE kind='entry' AND channel='telegram:-100222'")" \
  "$entries" "one entry notification per entry order the broker accepted"
assert_eq "$(sq "$DB" "SELECT count(*) FROM notifications WHERE kind='error' AND channel='telegram:111'")" \
  "$failed" "one error notification per failed execution (a rejected entry)"
assert_eq "$(sq "$DB" "SELECT count(*) FROM notifications WHERE kind='skip'")" "0" \
  "skips are off by default"

# The texts each chat got, one per line: "<chat> <text>".
texts() {
  tr '\n' ' ' < "$WORK/requests.json" | sed 's/{"method":/\n&/g' | grep '"method":"sendMessage"' |
    sed -n 's/.*"chat_id":\(-\{0,1\}[0-9]*\),"text":"\([^"]*\)".*/\1 \2/p'
}
texts > "$WORK/texts"
for chat in 111 -100222; do
  n=$(grep -c "^$chat " "$WORK/texts" || true)
  want=$(sq "$DB" "SELECT count(*) FROM notifications WHERE channel='telegram:$chat'")
  assert_eq "$n" "$want" "chat $chat got every message queued for it"
done

# Each exit's P&L, as the store has it, in the message of its execution.
bad=0
while IFS='|' read -r id pnl; do
  txt=$(sq "$DB" "SELECT json_extract(payload, '\$.text') FROM notifications WHERE kind='exit' AND execution_id=$id AND channel='telegram:111'")
  want=$(printf '%s' "$pnl" | awk '{ v = $1 / 1e8; printf "%s%.2f", (v > 0 ? "+" : ""), v }')
  grep -qF -- "realized P&L $want;" <<<"$txt" || { bad=$((bad + 1)); echo "execution $id: '$txt' lacks $want"; }
  grep -qF -- "$txt" <(sed -n 's/^111 //p' "$WORK/texts") || { bad=$((bad + 1)); echo "execution $id: not at the fake"; }
done < <(sq "$DB" "SELECT id, realized_pnl FROM executions WHERE status='completed'")
assert_eq "$bad" "0" "every exit message carries its execution's realized P&L, and reached the chat"

# Each exit's price is the average of the fills that closed it (the side opposite the
# entry's), and its entry price the execution's, as the fills table has them.
bad=0
while IFS='|' read -r id want_exit want_entry got_exit got_entry; do
  [ "$want_exit" = "$got_exit" ] && [ "$want_entry" = "$got_entry" ] ||
    { bad=$((bad + 1)); echo "execution $id: exit $got_exit (fills: $want_exit), entry $got_entry ($want_entry)"; }
done < <(sq "$DB" "SELECT e.id,
    printf('%.2f', (SELECT sum((f.qty / 1e8) * (f.price / 1e8)) / sum(f.qty / 1e8) FROM fills f
                    WHERE f.execution_id = e.id AND f.side <> e.side)),
    printf('%.2f', e.entry_price / 1e8),
    printf('%.2f', json_extract(n.payload, '\$.price')), printf('%.2f', json_extract(n.payload, '\$.entry_price'))
  FROM executions e JOIN notifications n ON n.execution_id = e.id AND n.kind = 'exit' AND n.channel = 'telegram:111'
  WHERE e.status = 'completed'")
assert_eq "$bad" "0" "every exit notification carries its average exit price and entry price, as the fills have them"

# The webhook's bodies: each fill's price, exact, against the fills table.
grep -c '^REQUEST POST /notify' "$WORK/hook.log" > "$WORK/nposts"
assert_eq "$(cat "$WORK/nposts")" "$(sq "$DB" "SELECT count(*) FROM notifications WHERE channel='webhook:1'")" \
  "the webhook got one post per notification"
assert_eq "$(grep -c '^Idempotency-Key: apex-note-[0-9]*' "$WORK/hook.log")" "$(cat "$WORK/nposts")" \
  "each post carries its row's Idempotency-Key"
bad=0
while IFS='|' read -r exec_id price qty; do
  want_p=$(awk -v v="$price" 'BEGIN { s = sprintf("%.8f", v / 1e8); sub(/0+$/, "", s); sub(/\.$/, "", s); print s }')
  want_q=$(awk -v v="$qty" 'BEGIN { s = sprintf("%.8f", v / 1e8); sub(/0+$/, "", s); sub(/\.$/, "", s); print s }')
  grep -qF "\"kind\":\"fill\",\"pipeline\":\"note\",\"symbol\":" "$WORK/hook.log" &&
    grep -F "\"execution_id\":$exec_id," "$WORK/hook.log" | grep -F '"kind":"fill"' |
    grep -qF "\"qty\":$want_q,\"price\":$want_p," || { bad=$((bad + 1)); echo "fill of $exec_id at $want_p x $want_q not posted"; }
done < <(sq "$DB" "SELECT execution_id, price, qty FROM fills")
assert_eq "$bad" "0" "every fill's price and quantity reached the webhook exactly"

leaks=$( (cat "$WORK/run.out" "$WORK/hook.log" "$WORK/requests.json"; sqlite3 "$DB" .dump) | grep -c -e "$TOKEN" -e "${TOKEN#*:}" || true)
assert_eq "$leaks" "0" "the bot token is in no output, log, request record or store row"

# ---- Telegram hanging: trading goes on, the rows wait; the next run delivers them once ----
tg_ctl reset '{}' >/dev/null
tg_ctl fault '{"kind":"hang","method":"sendMessage","count":100000}' >/dev/null
sed -e 's/name = "note"/name = "hang"/' -e 's/webhooks = { [^}]* },//' "$WORK/p.lua" > "$WORK/hang.lua"
HDB="$WORK/hang.db"
"$APEX_HOST" run --speed 30000 --max-seconds 120 --db "$HDB" "$WORK/hang.lua" > "$WORK/hang.out" 2>&1 || true
hf=$(sq "$HDB" "SELECT count(*) FROM fills")
[ "$hf" -ge 1 ] && pass "with Telegram hanging, trading went on ($hf fills)" || fail "no fill with Telegram hanging"
assert_eq "$(sq "$HDB" "SELECT count(*) FROM notifications WHERE kind='fill' AND channel='telegram:111'")" "$hf" \
  "with Telegram hanging, every fill was still queued for the chat"
assert_eq "$(sq "$HDB" "SELECT count(*) FROM notifications WHERE kind='exit' AND channel='telegram:111'")" \
  "$(sq "$HDB" "SELECT count(*) FROM executions WHERE status='completed'")" \
  "with Telegram hanging, every completed execution's exit was queued"
queued=$(sq "$HDB" "SELECT count(*) FROM notifications")
assert_eq "$(sq "$HDB" "SELECT count(*) FROM notifications WHERE status IN ('pending', 'sending')")" "$queued" \
  "every notification is still pending, none lost or failed ($queued)"
"$APEX_HOST" status --db "$HDB" > "$WORK/hang.status" 2>&1 || true
assert_contains "$(cat "$WORK/hang.status")" "notifications: $queued pending, 0 failed" \
  "status shows the pending notifications"
tg_ctl reset '{}' >/dev/null
"$APEX_HOST" run --speed 30000 --max-seconds 120 --db "$HDB" "$WORK/hang.lua" > "$WORK/hang2.out" 2>&1 || true
tg_requests | tr '\n' ' ' | sed 's/{"method":/\n&/g' |
  grep '"method":"sendMessage"' | sed -n 's/.*"chat_id":\(-\{0,1\}[0-9]*\),"text":"\([^"]*\)".*/\1 \2/p' > "$WORK/hang.texts"
assert_eq "$(sq "$HDB" "SELECT count(*) FROM notifications WHERE status='sent'")" \
  "$(sq "$HDB" "SELECT count(*) FROM notifications")" "the next run sent every row"
assert_eq "$(sort "$WORK/hang.texts" | uniq -d | wc -l)" "0" "no message went twice"
assert_eq "$(grep -c . "$WORK/hang.texts")" "$(sq "$HDB" "SELECT count(*) FROM notifications")" \
  "each row reached its chat exactly once"

# ---- a reload that fails is told, while the old code keeps running ----
tg_ctl reset '{}' >/dev/null
mkdir -p "$WORK/live"
printf 'timestamp,symbol,open,high,low,close,volume\n' > "$WORK/live/bars.csv"
printf 'return { on_bar = function(ctx, bar) end }\n' > "$WORK/live/quiet.lua"
cat > "$WORK/live/p.lua" <<LUA
return apex.pipeline {
    name = "live", symbols = { "AAPL" },
    data = { files = { "$WORK/live/bars.csv" }, follow = true },
    strategy = "$WORK/live/quiet.lua",
    notifications = { telegram = { token_env = "APEX_TEST_TG_TOKEN", chat_id = 111,
                                   api_url = "$TG" } },
}
LUA
"$APEX_HOST" run --db "$WORK/live.db" "$WORK/live/p.lua" > "$WORK/live.out" 2>&1 &
LPID=$!
for _ in $(seq 1 50); do grep -q "live" "$WORK/live.out" 2>/dev/null && break; sleep 0.1; done
sleep 0.5
printf 'return { on_bar = function(ctx, bar) end\n' > "$WORK/live/quiet.lua.tmp"
mv "$WORK/live/quiet.lua.tmp" "$WORK/live/quiet.lua" # as editors save: a rename
got=""
for _ in $(seq 1 100); do
  got=$(sq "$WORK/live.db" "SELECT status FROM notifications WHERE kind='reload_failed'" 2>/dev/null || true)
  [ "$got" = sent ] && break
  sleep 0.1
done
kill -TERM $LPID; wait $LPID 2>/dev/null || true
assert_eq "$got" "sent" "a failed reload was notified"
assert_eq "$(grep -c "quiet.lua" "$WORK/live.out")" "1" "the reload failure is printed once"
assert_contains "$(grep "RELOAD" "$WORK/live.out")" "quiet.lua failed: $WORK/live/quiet.lua:" "the RELOAD line names the file and line"
assert_contains "$(tg_requests)" \
  "\"text\":\"RELOAD FAILED live: $WORK/live/quiet.lua failed to reload; the old code keeps running: " \
  "the chat got the reload failure, naming the file"

# ---- a backtest sends nothing ----
sent_so_far() {
  tg_requests | tr '\n' ' ' | sed 's/{"method":/\n&/g' |
    grep -c '"method":"sendMessage"' || true
}
before=$(sent_so_far)
"$APEX_HOST" backtest --db "$WORK/bt.db" "$WORK/p.lua" > "$WORK/bt.out" 2>&1 || fail "backtest: $(tail -3 "$WORK/bt.out")"
after=$(sent_so_far)
assert_eq "$after" "$before" "a backtest sends nothing to Telegram"
assert_eq "$(sq "$WORK/bt.db" "SELECT count(*) FROM notifications")" "0" "a backtest queues nothing"

# ---- the token's variable unset: `run` refuses, naming it; `check` passes ----
unset APEX_TEST_TG_TOKEN
code=0
"$APEX_HOST" run --speed 100000 --max-seconds 30 --db "$WORK/none.db" "$WORK/p.lua" > "$WORK/none.out" 2>&1 || code=$?
[ "$code" -ne 0 ] && pass "run without the token exits $code" || fail "run without the token succeeded"
assert_contains "$(cat "$WORK/none.out")" "notifications.telegram.token_env: environment variable APEX_TEST_TG_TOKEN is not set" \
  "the error names the variable"
"$APEX_HOST" check "$WORK/p.lua" > "$WORK/check.out" 2>&1 && pass "check passes without the token (it is read at run)" ||
  fail "check: $(cat "$WORK/check.out")"
finish
