# The command line: help for every command, usage errors, status, exit codes.
source "$(dirname "$0")/lib.sh"
for c in run backtest check status version; do
  out=$("$APEX_HOST" $c --help)
  assert_contains "$out" "usage: apex-host $c" "$c --help"
done
out=$("$APEX_HOST" --help); assert_contains "$out" "exit codes" "main help lists exit codes"
set +e
"$APEX_HOST" frobnicate >/dev/null 2>&1; assert_eq "$?" "2" "unknown command exits 2"
"$APEX_HOST" run --speed fast x.lua >/dev/null 2>&1; assert_eq "$?" "2" "bad --speed exits 2"
"$APEX_HOST" status --db "$WORK/none.db" >/dev/null 2>&1; assert_eq "$?" "4" "status on a missing store exits 4"
set -e
demo_setup
"$APEX_HOST" backtest --quiet --db "$WORK/s.db" "$WORK/pipelines/ma_trend.lua" >/dev/null
out=$("$APEX_HOST" status --db "$WORK/s.db")
assert_contains "$out" "EXECUTIONS" "status shows executions"
assert_contains "$out" "ma-trend" "status names the pipeline"

# Every option also takes the form --opt=value; a flag given a value is a usage error.
"$APEX_HOST" backtest --quiet --db="$WORK/eq.db" "$WORK/pipelines/ma_trend.lua" >/dev/null
[ "$(sq "$WORK/eq.db" "SELECT count(*) FROM executions WHERE pipeline = 'ma-trend'")" -gt 0 ] &&
  pass "backtest --db=FILE writes that store" || fail "backtest --db=FILE: no executions in eq.db"
assert_eq "$("$APEX_HOST" status --db="$WORK/s.db" --events=3 | grep -c "^RECENT EVENTS (latest 3)")" "1" \
  "status --db=FILE --events=N"
set +e
err=$("$APEX_HOST" backtest --quiet=yes --db "$WORK/x.db" "$WORK/pipelines/ma_trend.lua" 2>&1)
assert_eq "$?" "2" "a flag given a value exits 2"
assert_contains "$err" "--quiet takes no value (given 'yes')" "and says which flag"
err=$("$APEX_HOST" run --speed=fast x.lua 2>&1)
assert_eq "$?" "2" "run --speed=fast exits 2"
assert_contains "$err" "--speed: 'fast' is not a positive number" "the =value reaches the parser"
"$APEX_HOST" reduce-only on ma-trend --db="$WORK/s.db" >/dev/null; assert_eq "$?" "0" "reduce-only --db=FILE"
"$APEX_HOST" resume ma-trend --db="$WORK/s.db" >/dev/null 2>&1; rc=$?
[ "$rc" = 0 ] || [ "$rc" = 1 ] && pass "resume --db=FILE parses (exit $rc)" || fail "resume --db=FILE exited $rc"
"$APEX_HOST" approvals --db="$WORK/s.db" >/dev/null; assert_eq "$?" "0" "approvals --db=FILE"
"$APEX_HOST" status --db="$WORK/s.db" --status=done >/dev/null 2>&1; assert_eq "$?" "2" "status --status=done (no such status) exits 2"
set -e
"$APEX_HOST" reduce-only off ma-trend --db "$WORK/s.db" >/dev/null

# status --limit and filters, against the store's rows: the execution ids listed are the
# ones SQL selects.
listed() { # the ids in the EXECUTIONS section of status "$@"
  "$APEX_HOST" status --db "$WORK/s.db" "$@" |
    awk '/^EXECUTIONS/{on=1; getline; next} /^$/{on=0} on && $1 ~ /^[0-9]+$/ {print $1}' | sort -n | tr '\n' ' '
}
ids() { sq "$WORK/s.db" "$1" | sort -n | tr '\n' ' '; }
assert_eq "$(listed --limit 5)" \
  "$(ids "SELECT id FROM executions WHERE status IN ('pending','running','monitoring','paused') UNION SELECT id FROM (SELECT id FROM executions ORDER BY id DESC LIMIT 5)")" \
  "status --limit 5: the active executions and the 5 latest"
[ "$(listed --limit 5 | wc -w)" -ge 5 ] && pass "five or more listed" || fail "fewer than 5 listed: $(listed --limit 5)"
[ "$(listed --status skipped --limit 4 | wc -w)" -eq 4 ] && pass "four skipped listed" || fail "not 4 skipped"
assert_eq "$(listed --status=skipped --limit=4)" \
  "$(ids "SELECT id FROM executions WHERE status = 'skipped' ORDER BY id DESC LIMIT 4")" \
  "status --status skipped --limit 4: the 4 latest skipped"
sym=$(sq "$WORK/s.db" "SELECT symbol FROM executions ORDER BY id LIMIT 1")
assert_eq "$(listed --symbol "$sym" --status completed --limit 1000)" \
  "$(ids "SELECT id FROM executions WHERE symbol = '$sym' AND status = 'completed'")" \
  "status --symbol $sym --status completed: that symbol's completed executions"
assert_eq "$(listed --pipeline nosuch)" "" "status --pipeline nosuch lists no execution"
assert_contains "$("$APEX_HOST" status --db "$WORK/s.db" --pipeline ma-trend --limit 0 --events 0)" \
  "only pipeline ma-trend" "the header says what is filtered"
# The banner: what trades where, read from the pipelines and the data files themselves.
bars="$WORK/data/bars.csv"
first=$(sed -n 2p "$bars" | cut -d, -f1 | sed 's/T/ /; s/Z//')
last=$(tail -1 "$bars" | cut -d, -f1 | sed 's/T/ /; s/Z//')
out=$("$APEX_HOST" run --speed 4000 --max-seconds 1 --fresh --db "$WORK/b.db" \
  "$WORK/pipelines/ma_trend.lua" "$WORK/pipelines/rsi_reversion.lua" 2>&1)
head=$(sed -n '1,9p' <<<"$out")
assert_contains "$head" "apex-host 0.1.0 run: 2 pipelines" "banner: the command and the pipelines"
assert_contains "$head" "pipeline   ma-trend       $WORK/pipelines/ma_trend.lua  AAPL TSLA" \
  "banner: a pipeline's file and symbols"
assert_contains "$head" "broker paper, account $WORK/b.db.rsi-reversion.paper, starting cash 100000.00" \
  "banner: the paper account's file"
assert_contains "$head" "data       $first to $last UTC, 1 file" "banner: the data's first and last bar"
assert_contains "$head" "replay     4000x real time" "banner: the replay speed"
assert_contains "$head" "store      $WORK/b.db" "banner: the store"
assert_contains "$head" "dashboard  off (--http ADDR to serve it)" "banner: the dashboard"
[ -e "$WORK/b.db.rsi-reversion.paper" ] && pass "the account the banner names is the one used" ||
  fail "no $WORK/b.db.rsi-reversion.paper"
assert_eq "$("$APEX_HOST" backtest --quiet --db "$WORK/q.db" "$WORK/pipelines/ma_trend.lua" | grep -c "^  pipeline ")" \
  "0" "--quiet prints no banner"

# Log tags: every tag a backtest prints is one README.md documents, and the exit's steps
# read apart (TRIGGER, ORDER, FILL, EXIT, CLOSED).
documented=$(sed -n '/^| Tag | What happened |/,/^$/p' "$APEX_SOURCE_DIR/README.md" |
  grep -o '^| `[A-Z]*`' | tr -d '|` ' | sort -u | tr '\n' ' ')
out=$("$APEX_HOST" backtest --verbose --db "$WORK/t.db" "$WORK/pipelines/ma_trend.lua" 2>&1)
printed=$(grep -E '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}  [a-z-]+ +[A-Z]+ ' <<<"$out" |
  awk '{print $4}' | sort -u | tr '\n' ' ')
undocumented=""
for t in $printed; do case " $documented " in *" $t "*) ;; *) undocumented="$undocumented $t";; esac; done
assert_eq "$undocumented" "" "every printed tag is documented (printed: $printed)"
for t in SIGNAL ORDER FILL MONITOR TRIGGER EXIT CLOSED; do
  case " $printed " in *" $t "*) pass "the backtest prints $t";; *) fail "no $t line";; esac
done
urgent=$(grep -c "next check 5 s (urgent" <<<"$out" || true)
checks=$(grep -c " MONITOR " <<<"$out" || true)
[ "$urgent" -lt $((checks / 2)) ] && pass "--verbose: $urgent of $checks checks urgent, not every one" ||
  fail "$urgent of $checks checks urgent"

# Lines printed while the pipelines load carry the wall clock's time, not the simulated
# clock's zero (1970) nor a bar's.
mkdir -p "$WORK/loud"
printf 'print("strategy file loaded")\nreturn { on_bar = function(ctx, bar) end }\n' > "$WORK/loud/s.lua"
cat > "$WORK/loud/p.lua" <<LUA
return apex.pipeline {
    name = "loud", symbols = { "AAPL" },
    data = { files = { "$WORK/data/bars.csv" } },
    strategy = "$WORK/loud/s.lua",
}
LUA
before=$(date -u +%F)
line=$("$APEX_HOST" backtest --db "$WORK/l.db" "$WORK/loud/p.lua" 2>&1 | grep "strategy file loaded" | head -1 || true)
after=$(date -u +%F)
day=${line:0:10}
{ [ "$day" = "$before" ] || [ "$day" = "$after" ]; } && pass "a load-time line has today's date ($line)" ||
  fail "load-time line: '$line'"

# --max-seconds is a wall-time limit, whatever the data: real-time replay of five days
# stops after 2 s with the summary.
start=$(date +%s)
out=$("$APEX_HOST" run --speed 1 --max-seconds 2 --db "$WORK/m.db" "$WORK/pipelines/ma_trend.lua" 2>&1)
elapsed=$(( $(date +%s) - start ))
assert_contains "$out" "time limit of 2 s reached" "--max-seconds stops the run"
[ "$elapsed" -lt 15 ] && pass "it stopped promptly (${elapsed}s)" || fail "took ${elapsed}s"
# A --db in a folder that does not exist: named, with what to do, and nothing traded.
set +e
out=$("$APEX_HOST" backtest --quiet --db "$WORK/nodir/x.db" "$WORK/pipelines/ma_trend.lua" 2>&1); code=$?
set -e
assert_eq "$code" "4" "a store in a missing folder exits 4"
assert_contains "$out" "the folder $WORK/nodir does not exist; create it (mkdir -p $WORK/nodir) or pass another --db" "saying what to do"
finish
