# Shared helpers for the integration tests (sourced, not run by ctest: no test_ prefix
# is needed because CMake runs every *.sh; this file only defines functions).
set -euo pipefail
: "${APEX_HOST:?set by ctest}" "${APEX_DATAGEN:?set by ctest}" "${APEX_SOURCE_DIR:?set by ctest}"

WORK=$(mktemp -d /tmp/apex-it-XXXXXX)
# kill_at_exit PID...: processes the test started (fake servers), stopped when it ends.
KILL_AT_EXIT=""
kill_at_exit() { KILL_AT_EXIT="$KILL_AT_EXIT $*"; }
trap '[ -z "$KILL_AT_EXIT" ] || kill $KILL_AT_EXIT 2>/dev/null || true; rm -rf "$WORK"' EXIT
FAILS=0

fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; }
assert_eq() { if [ "$1" == "$2" ]; then pass "$3"; else fail "$3: expected '$2', got '$1'"; fi; }
assert_contains() { if grep -qF -- "$2" <<<"$1"; then pass "$3"; else fail "$3: '$2' not in: $1"; fi; }
sq() { sqlite3 -batch -noheader "$1" "$2"; }
finish() { if [ "$FAILS" -ne 0 ]; then echo "$FAILS check(s) failed"; exit 1; fi; echo "all checks passed"; }

# Demo data in $WORK/data and the example pipelines rewritten to point at it.
demo_setup() {
  "$APEX_DATAGEN" "$WORK/data" >/dev/null
  mkdir -p "$WORK/pipelines"
  for f in "$APEX_SOURCE_DIR"/strategies/examples/*.lua; do
    sed -e "s#\.\./\.\./data/demo#$WORK/data#g" \
        -e "s#\"\.\./\([a-z_]*\.lua\)\"#\"$APEX_SOURCE_DIR/strategies/\1\"#g" \
        -e "s#'\.\./\([a-z_]*\.lua\)'#'$APEX_SOURCE_DIR/strategies/\1'#g" \
        -e "s#\.\./\.\./instructions#$APEX_SOURCE_DIR/instructions#g" \
        "$f" > "$WORK/pipelines/$(basename "$f")"
  done
}

# kill_while_holding PIPELINE DB SPEED OUT [SQL]: runs `apex-host run --fresh` on PIPELINE
# with the store DB at SPEED (output to OUT) until an execution matching SQL (a condition on
# the executions table, default true) is monitoring a filled position, then SIGKILLs it and
# sets VICTIM to that execution's id. At a high replay speed the execution can complete in
# the moment between the query and the kill landing; the store then shows it finished, the
# kill proved nothing, and the run is repeated (up to 5 times). Returns 1 when no execution
# ever got there.
kill_while_holding() {
  local pipeline=$1 db=$2 speed=$3 out=$4 cond=${5:-1} pid v status
  VICTIM=""
  for _attempt in 1 2 3 4 5; do
    "$APEX_HOST" run --speed "$speed" --db "$db" --fresh "$pipeline" > "$out" 2>&1 &
    pid=$!
    v=""
    for _ in $(seq 1 900); do
      v=$(sq "$db" "SELECT id FROM executions WHERE status='monitoring' AND ($cond) AND id IN (SELECT execution_id FROM fills) LIMIT 1" 2>/dev/null || true)
      [ -n "$v" ] && break
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    [ -n "$v" ] || return 1
    status=$(sq "$db" "SELECT status FROM executions WHERE id=$v")
    if [ "$status" = monitoring ]; then
      VICTIM=$v
      return 0
    fi
    echo "note: execution $v was $status by the time the kill landed; running again"
  done
  return 1
}

# start_fake_telegram TOKEN: the fake Telegram Bot API (build/fake-telegram, tests/
# fake_telegram) on a free port of 127.0.0.1, stopped at exit. Sets TG (its URL) and TG_PID;
# its output is in $WORK/tg.out and $WORK/tg.err.
start_fake_telegram() {
  : "${APEX_BUILD_DIR:?set by ctest}"
  "$APEX_BUILD_DIR/fake-telegram" --port 0 --token "$1" > "$WORK/tg.out" 2> "$WORK/tg.err" &
  TG_PID=$!
  kill_at_exit "$TG_PID"
  local port=""
  for _ in $(seq 100); do
    port=$(sed -n 's/^listening 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$WORK/tg.out")
    [ -n "$port" ] && break
    sleep 0.05
  done
  [ -n "$port" ] || { echo "fake-telegram did not start"; cat "$WORK/tg.err"; exit 1; }
  TG=http://127.0.0.1:$port
}
# tg_ctl VERB JSON: the fake's control API (press, fault, reset...); tg_requests: what it got.
tg_ctl() { curl -s -m 5 -X POST "$TG/_control/$1" --data "$2"; }
tg_requests() { curl -s -m 5 "$TG/_control/requests"; }
# until_sent TEXT: waits (10 s at most) until a request the fake got contains TEXT.
until_sent() { for _ in $(seq 100); do tg_requests | grep -qF -- "$1" && break; sleep 0.1; done; }

# run CMD...: runs it to the end whatever its exit, with the exit code in $code and what it
# printed (stdout and stderr) in $out.
run() { set +e; "$@" > "$WORK/out" 2>&1; code=$?; set -e; out=$(cat "$WORK/out"); }

# until_sq DB SQL [WANT]: polls the store (10 s at most) until SQL gives WANT (default: any
# non-empty value), and prints the last value.
until_sq() {
  local v=""
  for _ in $(seq 100); do
    v=$(sq "$1" "$2" 2>/dev/null || true)
    if [ -n "${3:-}" ]; then [ "$v" = "$3" ] && break; else [ -n "$v" ] && break; fi
    sleep 0.1
  done
  echo "$v"
}
