#!/usr/bin/env bash
# check_includes.sh: the include rules of docs/architecture.md ("Layers"), checked.
#
#   (a) A file in core/<module>/ includes only headers of its own module or of modules of
#       strictly lower rank in the `layers` block of docs/architecture.md. The block is
#       parsed here, so the page is the rule. A module missing from the block is a
#       violation too (a new module needs its rank first).
#   (b) A header named *_internal.h is included only from its own folder (or below it),
#       anywhere in core/, tests/, tools/ and bench/.
#
# Usage: tests/check_includes.sh [--count] [--report-only] [ROOT]
#   ROOT           the source tree (default: the tree this script belongs to)
#   --count        print only the number of violations, exit 0
#   --report-only  print the violations, exit 0 (also when APEX_STRICT_INCLUDES is 0/OFF)
# Each violation is one line, `file:line: include "x" (why)`, then a count.
# Exit: 0 clean (or report-only), 1 violations, 2 the rule could not be read.
#
# Plain bash and POSIX awk (mawk on Debian): CI is a fresh machine with nothing else.
set -euo pipefail

count_only=0
strict=1
root=""
for arg in "$@"; do
  case "$arg" in
    --count) count_only=1 ;;
    --report-only) strict=0 ;;
    -h | --help)
      sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    -*)
      echo "check_includes: unknown option $arg (try --help)" >&2
      exit 2
      ;;
    *) root="$arg" ;;
  esac
done
case "${APEX_STRICT_INCLUDES:-1}" in
  0 | OFF | off | NO | no | FALSE | false) strict=0 ;;
esac
[ -n "$root" ] || root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

doc=docs/architecture.md
if [ ! -f "$doc" ]; then
  echo "check_includes: $root/$doc not found: it holds the layer table this script checks" >&2
  exit 2
fi

# The block between a line "```layers" and the next "```": lines "rank module...".
layers="$(awk '
  /^```layers[ \t]*$/ { inside = 1; next }
  inside && /^```/    { exit }
  inside && NF        { print }
' "$doc")"
if [ -z "$layers" ]; then
  echo "check_includes: $doc: no \`\`\`layers block (lines \"rank module...\")" >&2
  exit 2
fi
bad_line="$(awk '$1 !~ /^[0-9]+$/ || NF < 2 { print NR ": " $0; exit }' <<<"$layers")"
if [ -n "$bad_line" ]; then
  echo "check_includes: $doc: layers block line $bad_line: expected \"rank module...\"" >&2
  exit 2
fi
dup="$(awk '{ for (i = 2; i <= NF; i++) if (seen[$i]++) { print $i; exit } }' <<<"$layers")"
if [ -n "$dup" ]; then
  echo "check_includes: $doc: module '$dup' has two ranks in the layers block" >&2
  exit 2
fi

dirs=()
for d in core tests tools bench; do
  [ -d "$d" ] && dirs+=("$d")
done
files="$(find "${dirs[@]}" -type f \( -name '*.c' -o -name '*.h' \) | LC_ALL=C sort)"
if [ -z "$files" ]; then
  echo "check_includes: no C sources under $root" >&2
  exit 2
fi

report="$(
  # shellcheck disable=SC2086
  awk -v layers="$layers" -v filelist="$files" '
  function dirname(p,   i) {
    for (i = length(p); i > 0; i--)
      if (substr(p, i, 1) == "/")
        return substr(p, 1, i - 1)
    return "."
  }
  # Folds "." and ".." so "../broker/broker.h" cannot slip past the rule.
  function normalize(p,   n, parts, out, k, i) {
    n = split(p, parts, "/")
    k = 0
    for (i = 1; i <= n; i++) {
      if (parts[i] == "" || parts[i] == ".")
        continue
      if (parts[i] == ".." && k > 0 && out[k] != "..") {
        k--
        continue
      }
      out[++k] = parts[i]
    }
    p = ""
    for (i = 1; i <= k; i++)
      p = p (i > 1 ? "/" : "") out[i]
    return p
  }
  function component(p, n,   parts) {
    split(p, parts, "/")
    return parts[n]
  }
  function violation(msg) {
    printf "%s:%d: include %s%s%s (%s)\n", FILENAME, FNR, open, inc, shut, msg
    found++
  }
  BEGIN {
    n = split(layers, rows, "\n")
    for (i = 1; i <= n; i++) {
      m = split(rows[i], w, /[ \t]+/)
      for (j = 2; j <= m; j++)
        if (w[j] != "")
          rank[w[j]] = w[1] + 0
    }
    n = split(filelist, f, "\n")
    for (i = 1; i <= n; i++)
      exists[f[i]] = 1
    found = 0
  }
  FNR == 1 {
    dir = dirname(FILENAME)
    incore = FILENAME ~ /^core\//
    src = incore ? component(FILENAME, 2) : ""
  }
  /^[ \t]*#[ \t]*include[ \t]*["<]/ {
    line = $0
    sub(/^[ \t]*#[ \t]*include[ \t]*/, "", line)
    open = substr(line, 1, 1)
    shut = open == "<" ? ">" : "\""
    rest = substr(line, 2)
    p = index(rest, shut)
    if (p == 0)
      next
    inc = substr(rest, 1, p - 1)

    # Where the compiler finds it: beside the includer (quotes only), then core/.
    resolved = ""
    if (open == "\"" && (normalize(dir "/" inc) in exists))
      resolved = normalize(dir "/" inc)
    else if (normalize("core/" inc) in exists)
      resolved = normalize("core/" inc)
    else if (index(inc, "/") && (component(inc, 1) in rank))
      resolved = normalize("core/" inc) # a header of a ranked module not written yet
    if (resolved == "")
      next # a system, library or generated header

    if (incore && resolved ~ /^core\/[^\/]+\//) {
      dst = component(resolved, 2)
      if (dst != src) {
        if (!(src in rank))
          violation("module " src " has no rank in docs/architecture.md")
        else if (!(dst in rank))
          violation("module " dst " has no rank in docs/architecture.md")
        else if (rank[dst] >= rank[src])
          violation(src " rank " rank[src] " -> " dst " rank " rank[dst])
      }
    }
    if (resolved ~ /_internal\.h$/) {
      hdir = dirname(resolved)
      if (dir != hdir && index(dir, hdir "/") != 1)
        violation("internal to " hdir "/")
    }
  }
  END { print "#count " found }
  ' $files
)"

count="$(sed -n 's/^#count //p' <<<"$report")"
if [ "$count_only" = 1 ]; then
  echo "$count"
  exit 0
fi
grep -v '^#count ' <<<"$report" || true
if [ "$count" = 0 ]; then
  echo "check_includes: 0 violations of the layer rule in docs/architecture.md"
  exit 0
fi
echo "check_includes: $count violation(s) of the layer rule in docs/architecture.md"
if [ "$strict" = 0 ]; then
  echo "check_includes: report only (APEX_STRICT_INCLUDES is off): not failing"
  exit 0
fi
exit 1
