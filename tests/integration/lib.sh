# Shared helpers for the integration tests (sourced, not run by ctest: no test_ prefix
# is needed because CMake runs every *.sh; this file only defines functions).
set -euo pipefail
: "${APEX_HOST:?set by ctest}" "${APEX_DATAGEN:?set by ctest}" "${APEX_SOURCE_DIR:?set by ctest}"

WORK=$(mktemp -d /tmp/apex-it-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
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
