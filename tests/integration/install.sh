# `make install` as a new user meets it: the build installed into a temporary
# DESTDIR/PREFIX, then, from another directory and with only PREFIX/bin on the PATH, the
# installed examples copied out, demo data generated, `check` and a short backtest run.
source "$(dirname "$0")/lib.sh"
: "${APEX_BUILD_DIR:?set by ctest}"
PREFIX=/opt/apex-test
DEST="$WORK/dest"
# What `make install PREFIX=... DESTDIR=...` runs after building.
DESTDIR="$DEST" cmake --install "$APEX_BUILD_DIR" --prefix "$PREFIX" >"$WORK/install.out"
ROOT="$DEST$PREFIX"
for f in bin/apex-host bin/apex-datagen share/apex-host/types/apex.lua \
         share/apex-host/lua/apex/params.lua share/apex-host/strategies/examples/ma_trend.lua \
         share/apex-host/instructions/vix_spike.lua; do
  [ -e "$ROOT/$f" ] && pass "installed $f" || fail "$f is missing under $ROOT"
done
[ -x "$ROOT/bin/apex-host" ] && pass "apex-host is executable" || fail "apex-host is not executable"

mkdir -p "$WORK/elsewhere"
cd "$WORK/elsewhere"
cp -r "$ROOT/share/apex-host/strategies" "$ROOT/share/apex-host/instructions" .
export PATH="$ROOT/bin:/usr/bin:/bin"
assert_eq "$(command -v apex-host)" "$ROOT/bin/apex-host" "apex-host is found on the PATH"
assert_contains "$(apex-host version)" "share: $ROOT/share/apex-host" "version names the share directory"
apex-datagen data/demo >/dev/null
out=$(apex-host check strategies/examples/ma_trend.lua 2>&1) && rc=0 || rc=$?
assert_eq "$rc" "0" "check passes from another directory: $out"
assert_contains "$out" "ok: pipeline 'ma-trend'" "check names the pipeline"
# (its strategy, ma_cross.lua, requires apex.ta and apex.params: the modules embedded in
# the binary, found with no lua/ directory near.)
out=$(apex-host backtest --db bt.db strategies/examples/ma_trend.lua 2>&1) && rc=0 || rc=$?
assert_eq "$rc" "0" "the backtest runs"
assert_contains "$out" "apex-host 0.1.0 backtest: 1 pipeline" "it prints the banner"
trades=$(sq bt.db "SELECT count(*) FROM executions WHERE status = 'completed'")
[ "$trades" -gt 0 ] && pass "the backtest completed $trades executions" || fail "no completed execution"
finish
