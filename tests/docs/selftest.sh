# run_docs_commands.pl on made-up documents: a quote that matches (with "..." and "[...]")
# passes; one that does not fails, naming the file and line, with a diff.
set -euo pipefail
: "${APEX_BUILD_DIR:?set by ctest}" "${APEX_SOURCE_DIR:?set by ctest}"
WORK=$(mktemp -d /tmp/apex-docs-self-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
FAILS=0
fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; }
RUN="perl $APEX_SOURCE_DIR/tests/docs/run_docs_commands.pl $APEX_BUILD_DIR $APEX_SOURCE_DIR"

cat > "$WORK/good.md" <<'MD'
Text, and a block that is not checked:

```sh
$ false
nothing
```

```console
$ apex-host version
apex-host [...]
...
$ echo one; echo two; \
  echo three
one
...
three
$ ls data/demo
bars.csv
news.csv
```
MD
out=$($RUN "$WORK/good.md" 2>&1) && rc=0 || rc=$?
[ "$rc" = 0 ] && pass "matching quotes pass" || fail "matching quotes failed: $out"
case "$out" in *"3 command(s) from the documentation run, 3 printed what it quotes"*) pass "three commands counted";; *) fail "count: $out";; esac

cat > "$WORK/bad.md" <<'MD'
# Title

```console
$ echo alpha; echo beta
alpha
gamma
```
MD
out=$($RUN "$WORK/bad.md" 2>&1) && rc=0 || rc=$?
[ "$rc" = 1 ] && pass "a wrong quote fails" || fail "a wrong quote exited $rc: $out"
case "$out" in *"bad.md:4: \$ echo alpha; echo beta"*) pass "the failure names the file and line";; *) fail "no file:line in: $out";; esac
case "$out" in *"-gamma"*"+beta"*) pass "and shows the diff";; *) fail "no diff in: $out";; esac
[ "$FAILS" = 0 ] && echo "all checks passed" || { echo "$FAILS check(s) failed"; exit 1; }
