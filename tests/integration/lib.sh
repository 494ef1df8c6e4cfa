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
