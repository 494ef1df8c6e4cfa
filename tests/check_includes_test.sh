#!/usr/bin/env bash
# Self-test of check_includes.sh on a small made-up tree: every kind of violation is
# found, with its file:line and ranks, and nothing else is; the exit codes and the
# report-only switches behave as documented.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
check="$here/check_includes.sh"
work="$(mktemp -d /tmp/apex-check-includes-XXXXXX)"
trap 'rm -rf "$work"' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

mk() { mkdir -p "$(dirname "$work/$1")"; printf '%s\n' "${@:2}" >"$work/$1"; }

mk docs/architecture.md "# arch" "" "Some prose." "" '```layers' "0 low" "1 mid side" "2 high" '```' \
  "" '```' "9 not a layer block" '```'
mk core/low/a.h "#include <stdio.h>" '#include "util.h"'
mk core/low/util.h "/* beside a.h */"
mk core/low/x.c '#include "low/a.h"' '#include "../mid/m.h"' '#  include <high/h.h>'
mk core/mid/m.h '#include "low/a.h"' '#include "high/h.h"' '#include "side/s.h"'
mk core/mid/m_internal.h '#include "m.h"'
mk core/mid/m.c '#include "mid/m_internal.h"' '#include "m_internal.h"'
mk core/mid/sub/deep.c '#include "mid/m_internal.h"'
mk core/side/s.h '#include "low/a.h"'
mk core/high/h.h '#include "mid/m.h"' '#include "side/s.h"' '#include "later/l.h"'
mk core/high/h.c '#include "high/h.h"' '#include "mid/m_internal.h"' '#include "lua.h"'
mk core/odd/o.c '#include "low/a.h"'
mk core/later/l.h '/* a module without a rank */'
mk tests/t.c '#include "mid/m.h"' '#include "mid/m_internal.h"'

expected='core/high/h.c:2: include "mid/m_internal.h" (internal to core/mid/)
core/high/h.h:3: include "later/l.h" (module later has no rank in docs/architecture.md)
core/low/x.c:2: include "../mid/m.h" (low rank 0 -> mid rank 1)
core/low/x.c:3: include <high/h.h> (low rank 0 -> high rank 2)
core/mid/m.h:2: include "high/h.h" (mid rank 1 -> high rank 2)
core/mid/m.h:3: include "side/s.h" (mid rank 1 -> side rank 1)
core/odd/o.c:1: include "low/a.h" (module odd has no rank in docs/architecture.md)
tests/t.c:2: include "mid/m_internal.h" (internal to core/mid/)
check_includes: 8 violation(s) of the layer rule in docs/architecture.md'

set +e
out="$(bash "$check" "$work")"
rc=$?
set -e
[ "$rc" = 1 ] || fail "violations: exit $rc, expected 1"
[ "$out" = "$expected" ] || fail "report differs:
--- expected
$expected
--- got
$out"

[ "$(bash "$check" --count "$work")" = 8 ] || fail "--count"
bash "$check" --report-only "$work" >/dev/null || fail "--report-only must exit 0"
APEX_STRICT_INCLUDES=OFF bash "$check" "$work" >/dev/null || fail "APEX_STRICT_INCLUDES=OFF"
APEX_STRICT_INCLUDES=0 bash "$check" "$work" >/dev/null || fail "APEX_STRICT_INCLUDES=0"
set +e
APEX_STRICT_INCLUDES=ON bash "$check" "$work" >/dev/null
[ $? = 1 ] || fail "APEX_STRICT_INCLUDES=ON must fail on violations"
set -e

# Fixed: clean, exit 0.
for f in core/high/h.c core/high/h.h core/low/x.c core/mid/m.h tests/t.c; do
  grep -v -e 'm_internal' -e 'later/' -e '\.\./mid' -e 'high/h.h>' -e '"high/h.h"' -e 'side/s.h' \
    "$work/$f" >"$work/tmp" || true
  mv "$work/tmp" "$work/$f"
done
rm -r "$work/core/odd" "$work/core/later"
out="$(bash "$check" "$work")" || fail "a clean tree must pass: $out"
[ "$(bash "$check" --count "$work")" = 0 ] || fail "clean --count"

# The rule itself missing or malformed: exit 2, with the reason.
sed -i 's/^```layers$/```text/' "$work/docs/architecture.md"
set +e
err="$(bash "$check" "$work" 2>&1)"
rc=$?
set -e
[ "$rc" = 2 ] || fail "no layers block: exit $rc, expected 2"
grep -q 'no ```layers block' <<<"$err" || fail "no layers block: message: $err"
sed -i 's/^```text$/```layers/; s/^1 mid side$/one mid side/' "$work/docs/architecture.md"
set +e
err="$(bash "$check" "$work" 2>&1)"
rc=$?
set -e
[ "$rc" = 2 ] || fail "bad rank: exit $rc, expected 2"
grep -q 'line 2: one mid side' <<<"$err" || fail "bad rank: message: $err"
sed -i 's/^one mid side$/1 mid low/' "$work/docs/architecture.md"
set +e
err="$(bash "$check" "$work" 2>&1)"
rc=$?
set -e
[ "$rc" = 2 ] || fail "duplicate module: exit $rc, expected 2"
grep -q "module 'low' has two ranks" <<<"$err" || fail "duplicate module: message: $err"

if [ "$fails" -ne 0 ]; then
  echo "$fails check(s) failed"
  exit 1
fi
echo "all checks passed"
