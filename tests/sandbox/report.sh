#!/usr/bin/env bash
# Prints the attempts table of tests/sandbox/README.md: every attempt's header (what it
# tries, what must happen) and, from the result files of a plain and a sanitizer run
# (run.sh with SANDBOX_RESULTS=FILE, or ctest with it in the environment), whether it
# passed, its wall time and its peak RSS.
#
#   SANDBOX_RESULTS=/tmp/plain.tsv ctest -R '^sandbox\.'          (in build/)
#   SANDBOX_RESULTS=/tmp/asan.tsv ctest -R '^sandbox\.'           (in build-asan/)
#   tests/sandbox/report.sh /tmp/plain.tsv /tmp/asan.tsv > table.md
#   tests/sandbox/report.sh --failures /tmp/plain.tsv      # one line per failed attempt
set -euo pipefail
if [ "${1:-}" = --failures ]; then
  awk -F'\t' '$3 == "FAIL" { printf "- `%s/%s`: %s\n", $1, $2, $6 }' "$2" | sort
  exit 0
fi
SUITE=$(cd "$(dirname "$0")" && pwd)
PLAIN=${1:-/dev/null}
ASAN=${2:-/dev/null}

cell() { # FILE GROUP NAME -> "PASS 0.41 s, 6 MiB" or "-"
  awk -F'\t' -v g="$2" -v n="$3" '$1 == g && $2 == n { printf "%s %.1f s, %d MiB", $3, $4, $5; found = 1 }
    END { if (!found) printf "-" }' "$1"
}

for dir in "$SUITE"/attempts/*/; do
  group=$(basename "$dir")
  echo
  echo "### $group"
  echo
  echo "| attempt | what it tries | expect | plain | ASan+UBSan |"
  echo "|---|---|---|---|---|"
  for f in "$dir"*.lua; do
    name=$(basename "$f" .lua)
    what=$(sed -n 's/^-- attempt: //p' "$f" | head -1 | sed 's/|/\\|/g')
    expect=$(sed -n 's/^-- expect: //p' "$f" | tr '\n' ' ' | sed 's/survives; //; s/|/\\|/g; s/[[:space:]]*$//')
    extra=$(sed -n 's/^-- \(role\|with\|mode\|transform\): \(.*\)/\1 \2/p' "$f" | tr '\n' ';' | sed 's/;$//; s/;/; /g')
    [ -n "$extra" ] && what="$what ($extra)"
    echo "| \`$name\` | $what | \`$expect\` | $(cell "$PLAIN" "$group" "$name") | $(cell "$ASAN" "$group" "$name") |"
  done
done
