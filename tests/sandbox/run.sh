#!/usr/bin/env bash
# The sandbox escape suite's runner (tests/sandbox/README.md).
#
#   tests/sandbox/run.sh GROUP [ATTEMPT...]
#
# Runs every attempt in tests/sandbox/attempts/GROUP/ (or the named ones): each is one
# small .lua file, an attacker strategy (or bias, rule file, pipeline file) whose header
# says what it tries and what must happen:
#
#   -- attempt: one line saying what it tries
#   -- role: strategy | bias | rule | pipeline            (default strategy)
#   -- with: probe, rule                                    (optional, see below)
#   -- mode: backtest | run | sigint-run | sigint-backtest (default backtest)
#   -- transform: bytecode | shebang-bytecode               (optional: Lua's binary
#                                                            signature prefixed)
#   -- expect: survives; pipeline=failed; error~="deadline"; at=@; control=unaffected
#
# The attacker pipeline ("attacker", symbol ATK) runs in one process with the control
# pipeline ("control", symbol CTRL, tests/sandbox/lib/control.lua) over the fixture
# tests/sandbox/data/bars.csv, with the store in a fresh file. Every attempt is checked
# for the implicit bounds below, then for its own expectations:
#
#   implicit   the process ends by itself within SANDBOX_TIMEOUT (60 s; a hang is killed
#              and reported), by exiting (never by a signal) with the expected code; no
#              sanitizer report on stderr; peak RSS <= the ceiling (256 MiB plain,
#              1024 MiB with APEX_SANITIZE=1); stdout+stderr <= 10 MiB (the documented
#              output cap, 64 KiB a minute, over the fixture's 120 minutes is 7.5 MiB)
#              and no line longer than 64 KiB; "ESCAPED:", "TAMPERED:" and "UNBOUNDED:"
#              (the attempts' own alarms) appear nowhere in the output or the store
#   exit=N               exit code (default 0; 5 for sigint-backtest; 3 for refused)
#   pipeline=failed      the attacker has a failed execution
#   pipeline=clean       ... has none
#   pipeline=traded      ... has a fill of its own
#   pipeline=refused     the host refused to start (exit 3, "nothing was traded")
#   rule=fired           the attacker's position was closed by its instruction
#                        "close if GAUGE > 40" (with: rule)
#   error~="TEXT"        TEXT is in the attacker's errors: failed executions' reasons, its
#                        events (rule_error...) and the process's stderr; "A|B": A or B
#   error!~="TEXT"       TEXT is nowhere: store, stdout, stderr
#   at=@                 the errors name this file and the line marked `@here` in it
#                        ("name.lua:12"); several marked lines: any of them
#   failed<=N events<=N  at most N failed executions / events of the attacker
#   out<=N line<=N       override the output bounds (bytes, K and M suffixes)
#   wall<=S rss<=MiB     an extra wall-time bound (tripled with APEX_SANITIZE=1) / another
#                        memory ceiling (plain builds only)
#   sigint<=S            (sigint modes) exits within S s of the SIGINT (default 15)
#   absent=F present=F   a file in the run's directory must not / must exist afterwards
#   reached="TEXT"       TEXT is in the output: the attempt prints it just before its attack,
#                        so a setup that never finished cannot pass for a stopped attack
#   control=unaffected   the control's executions, fills and equity equal a run of the
#                        control alone (backtests only)
#   control=alive        the control traded and has no failed execution
#   control=none         the control never ran (the attacker was refused)
#
# with: probe adds tests/sandbox/lib/probe_bias.lua as the attacker's bias: it checks on
# every bar that the libraries it shares with the attacker still behave (TAMPERED: ...
# otherwise). with: rule adds the instruction "close if GAUGE > 40" (GAUGE goes to 45 at
# bar 41); role=rule adds it too, before the attempt's rule file. role=bias and role=rule
# use tests/sandbox/lib/buyer.lua as the strategy (one buy on bar 3).
#
# Modes: backtest = `apex-host backtest`; run = `apex-host run --speed 600` (SPEED in the
# header: -- speed: N); sigint-* send SIGINT once the attacker prints its marker
# ("ATTACK", or -- marker: TEXT) and check how soon the process ends.
#
# Environment: APEX_HOST, APEX_MEASURE (sandbox-measure), APEX_SOURCE_DIR; APEX_SANITIZE=1
# for the sanitizer build's memory ceiling; SANDBOX_TIMEOUT, SANDBOX_RSS_MIB override the
# limits; SANDBOX_RESULTS=FILE appends one tab-separated line per attempt (group, attempt,
# PASS/FAIL, wall s, peak RSS MiB, first failure); SANDBOX_KEEP=1 keeps the work directory.
set -uo pipefail
: "${APEX_HOST:?set by ctest}" "${APEX_MEASURE:?set by ctest}" "${APEX_SOURCE_DIR:?set by ctest}"

GROUP=${1:?usage: run.sh GROUP [ATTEMPT...]}
shift
SUITE=$APEX_SOURCE_DIR/tests/sandbox
ATTEMPTS=$SUITE/attempts/$GROUP
[ -d "$ATTEMPTS" ] || { echo "no such group: $ATTEMPTS" >&2; exit 2; }

SANITIZE=${APEX_SANITIZE:-0}
case "$SANITIZE" in 1 | ON | on | TRUE | true | YES | yes) SANITIZE=1 ;; *) SANITIZE=0 ;; esac
TIMEOUT=${SANDBOX_TIMEOUT:-60}
if [ "$SANITIZE" = 1 ]; then RSS_CEILING=${SANDBOX_RSS_MIB:-1024}; else RSS_CEILING=${SANDBOX_RSS_MIB:-256}; fi
OUT_MAX=$((10 << 20))
LINE_MAX=$((64 << 10))
SIGINT_MAX=15
RUN_SPEED=600
ALARMS='ESCAPED:|TAMPERED:|UNBOUNDED:'
SANITIZER_RE='ERROR: AddressSanitizer|ERROR: LeakSanitizer|AddressSanitizer:DEADLYSIGNAL|runtime error:|SUMMARY: UndefinedBehaviorSanitizer'

WORK=$(mktemp -d /tmp/apex-sandbox-XXXXXX)
if [ "${SANDBOX_KEEP:-0}" = 1 ]; then
  echo "work directory kept: $WORK"
else
  trap 'rm -rf "$WORK"' EXIT
fi

sq() { sqlite3 -batch -noheader "$1" "$2" 2>/dev/null; }
bytes() { # 4M, 64K, 100 -> bytes
  case "$1" in
    *M) echo $((${1%M} << 20)) ;;
    *K) echo $((${1%K} << 10)) ;;
    *) echo "$1" ;;
  esac
}
unquote() { local v=$1; v=${v#\"}; v=${v%\"}; printf '%s' "$v"; }
trim() { local v=$1; v=${v#"${v%%[![:space:]]*}"}; v=${v%"${v##*[![:space:]]}"}; printf '%s' "$v"; }

# The control's trades as text: executions, fills and equity, without the store's
# instance prefix of client order ids.
control_signature() {
  sq "$1" "SELECT 'x', symbol, status, side, qty, entry_price, stop_loss, take_profit, realized_pnl,
                  fees, reason, created_at, completed_at FROM executions WHERE pipeline='control' ORDER BY id;
           SELECT 'f', f.symbol, f.side, f.qty, f.price, f.fee, f.ts FROM fills f
             JOIN executions e ON e.id = f.execution_id WHERE e.pipeline='control' ORDER BY f.ts, f.id;
           SELECT 'e', ts, cash, equity FROM equity WHERE pipeline='control' ORDER BY ts, id;"
}

stage_common() { # DIR: data and the library files every run uses
  mkdir -p "$1"
  cp "$SUITE/data/bars.csv" "$SUITE"/lib/*.lua "$1/"
}

# The baseline: the control pipeline alone.
BASE=$WORK/_baseline
stage_common "$BASE"
if ! (cd "$BASE" && "$APEX_HOST" backtest --quiet --db run.db control.lua > out.txt 2>&1); then
  echo "FAIL: the control pipeline alone does not run:" >&2
  cat "$BASE/out.txt" >&2
  exit 1
fi
BASELINE=$(control_signature "$BASE/run.db")
if [ "$(grep -c '^f|' <<<"$BASELINE")" -lt 3 ]; then
  echo "FAIL: the control pipeline alone made no trades; the fixture is broken" >&2
  exit 1
fi

write_attacker_pipeline() { # DIR STRATEGY BIAS RULEFILE WITH_RULE
  local dir=$1 strategy=$2 bias=$3 rulefile=$4 with_rule=$5 ins=""
  if [ "$with_rule" = 1 ] || [ -n "$rulefile" ]; then
    ins='"close if GAUGE > 40"'
    [ -n "$rulefile" ] && ins="$ins, { file = \"$rulefile\" }"
    ins="    instructions = { $ins },"
  fi
  {
    echo 'return apex.pipeline {'
    echo '    name = "attacker",'
    echo '    symbols = { "ATK" },'
    echo '    data = { files = { "bars.csv" } },'
    echo "    strategy = \"$strategy\","
    [ -n "$bias" ] && echo "    bias = \"$bias\","
    echo '    exits = { liquidity = { max_spread = 1 } },'
    [ -n "$ins" ] && echo "$ins"
    echo '}'
  } > "$dir/attacker.lua"
}

PASSED=0
FAILED=0
FAILED_NAMES=()
GROUP_START=$(date +%s.%N)

run_attempt() {
  local file=$1 base name dir
  base=$(basename "$file")
  name=${base%.lua}
  dir=$WORK/$name
  stage_common "$dir"

  local role="" with="" mode="" speed="" marker="" transform="" expect="" line
  while IFS= read -r line; do # the leading comment block
    [[ "$line" == --* ]] || break
    case "$line" in
      "-- role:"*) role=$(trim "${line#-- role:}") ;;
      "-- with:"*) with=$(trim "${line#-- with:}") ;;
      "-- mode:"*) mode=$(trim "${line#-- mode:}") ;;
      "-- speed:"*) speed=$(trim "${line#-- speed:}") ;;
      "-- marker:"*) marker=$(trim "${line#-- marker:}") ;;
      "-- transform:"*) transform=$(trim "${line#-- transform:}") ;;
      "-- expect:"*) expect="$expect;${line#-- expect:}" ;;
    esac
  done < "$file"
  role=${role:-strategy}
  mode=${mode:-backtest}
  speed=${speed:-$RUN_SPEED}
  marker=${marker:-ATTACK}

  # The attempt file, transformed when asked.
  case "$transform" in
    "") cp "$file" "$dir/$base" ;;
    bytecode) { printf '\033LuaT\000'; cat "$file"; } > "$dir/$base" ;;
    shebang-bytecode) { printf '#!/usr/bin/env lua\n\033LuaT\000'; cat "$file"; } > "$dir/$base" ;;
    *) echo "$base: unknown transform '$transform'" >&2; return 2 ;;
  esac

  local with_probe=0 with_rule=0 strategy="$base" bias="" rulefile="" pipeline_file="attacker.lua"
  [[ "$with" == *probe* ]] && with_probe=1
  [[ "$with" == *rule* ]] && with_rule=1
  [ "$with_probe" = 1 ] && bias=probe_bias.lua
  case "$role" in
    strategy) ;;
    bias) strategy=buyer.lua; bias=$base ;;
    rule) strategy=buyer.lua; rulefile=$base ;;
    pipeline) pipeline_file=$base ;;
    *) echo "$base: unknown role '$role'" >&2; return 2 ;;
  esac
  [ "$role" != pipeline ] && write_attacker_pipeline "$dir" "$strategy" "$bias" "$rulefile" "$with_rule"

  # Expectations.
  local exp_exit="" exp_pipeline="" exp_rule="" exp_control="" exp_failed="" exp_events=""
  local exp_wall="" exp_rss=$RSS_CEILING exp_out=$OUT_MAX exp_line=$LINE_MAX exp_sigint=$SIGINT_MAX
  local -a exp_err=() exp_noerr=() exp_absent=() exp_present=() exp_reached=()
  local exp_at=0 item key
  IFS=';' read -ra items <<<"$expect"
  for item in "${items[@]}"; do
    item=$(trim "$item")
    [ -z "$item" ] && continue
    case "$item" in
      survives) ;;
      exit=*) exp_exit=${item#exit=} ;;
      pipeline=*) exp_pipeline=${item#pipeline=} ;;
      rule=*) exp_rule=${item#rule=} ;;
      control=*) exp_control=${item#control=} ;;
      'error!~='*) exp_noerr+=("$(unquote "${item#error!~=}")") ;;
      'error~='*) exp_err+=("$(unquote "${item#error~=}")") ;;
      at=@) exp_at=1 ;;
      'failed<='*) exp_failed=${item#failed<=} ;;
      'events<='*) exp_events=${item#events<=} ;;
      'out<='*) exp_out=$(bytes "${item#out<=}") ;;
      'line<='*) exp_line=$(bytes "${item#line<=}") ;;
      'wall<='*) exp_wall=${item#wall<=} ;;
      'rss<='*) [ "$SANITIZE" = 1 ] || exp_rss=${item#rss<=} ;;
      'sigint<='*) exp_sigint=${item#sigint<=} ;;
      absent=*) exp_absent+=("${item#absent=}") ;;
      reached=*) exp_reached+=("$(unquote "${item#reached=}")") ;;
      present=*) exp_present+=("${item#present=}") ;;
      *) echo "$base: unknown expectation '$item'" >&2; return 2 ;;
    esac
  done
  if [ -z "$exp_exit" ]; then
    if [ "$exp_pipeline" = refused ]; then exp_exit=3
    elif [ "$mode" = sigint-backtest ]; then exp_exit=5
    else exp_exit=0; fi
  fi

  # The run.
  local -a cmd measure_opts=()
  case "$mode" in
    backtest | sigint-backtest) cmd=("$APEX_HOST" backtest --db run.db "$pipeline_file" control.lua) ;;
    run | sigint-run) cmd=("$APEX_HOST" run --fresh --speed "$speed" --db run.db "$pipeline_file" control.lua) ;;
    *) echo "$base: unknown mode '$mode'" >&2; return 2 ;;
  esac
  [[ "$mode" == sigint-* ]] && measure_opts=(--sigint-on "$marker")
  (cd "$dir" && "$APEX_MEASURE" --timeout "$TIMEOUT" --out out.txt --err err.txt \
     --report report.txt "${measure_opts[@]}" -- "${cmd[@]}")

  local status="" code="" signal="" wall=0 rss_kb=0 out_bytes=0 err_bytes=0 max_line=0 after_sigint="" k v
  while IFS='=' read -r k v; do
    case "$k" in
      status) status=$v ;; code) code=$v ;; signal) signal=$v ;; wall_s) wall=$v ;;
      maxrss_kb) rss_kb=$v ;; out_bytes) out_bytes=$v ;; err_bytes) err_bytes=$v ;;
      max_line) max_line=$v ;; exit_after_sigint_s) after_sigint=$v ;;
    esac
  done < "$dir/report.txt"
  local rss_mib=$(( (rss_kb + 1023) / 1024 ))

  local -a problems=()
  local db=$dir/run.db
  # Survival (a sanitizer report first: it explains the exit code it causes).
  if grep -qE "$SANITIZER_RE" "$dir/err.txt" 2>/dev/null; then
    problems+=("sanitizer report: $(grep -m1 -E "$SANITIZER_RE" "$dir/err.txt"); $(grep -m1 -E '^SUMMARY:' "$dir/err.txt" | cut -c1-160)")
  fi
  case "$status" in
    timeout) problems+=("the run did not end by itself within ${TIMEOUT} s (killed at the liveness limit)") ;;
    signaled) problems+=("the host died of signal $signal ($(kill -l "$signal" 2>/dev/null || echo ?))") ;;
    exited) [ "$code" = "$exp_exit" ] || problems+=("exit code $code, expected $exp_exit") ;;
    *) problems+=("no report from sandbox-measure") ;;
  esac
  # Bounds.
  [ "$rss_mib" -le "$exp_rss" ] || problems+=("peak RSS ${rss_mib} MiB > ceiling ${exp_rss} MiB")
  local total_out=$((out_bytes + err_bytes))
  [ "$total_out" -le "$exp_out" ] || problems+=("output ${total_out} bytes > bound ${exp_out} (flooding)")
  [ "$max_line" -le "$exp_line" ] || problems+=("a log line of ${max_line} bytes > bound ${exp_line}")
  # The sanitizer build runs C code several times slower: its wall bounds are tripled.
  [ -n "$exp_wall" ] && [ "$SANITIZE" = 1 ] && exp_wall=$(awk -v w="$exp_wall" 'BEGIN{print w * 3}')
  if [ -n "$exp_wall" ] && [ "$status" != timeout ] && awk -v w="$wall" -v b="$exp_wall" 'BEGIN{exit !(w > b)}'; then
    problems+=("wall time ${wall} s > bound ${exp_wall} s")
  fi
  if [[ "$mode" == sigint-* ]]; then
    if [ -z "$after_sigint" ]; then
      problems+=("the marker '$marker' never appeared, so no SIGINT was sent")
    elif awk -v w="$after_sigint" -v b="$exp_sigint" 'BEGIN{exit !(w > b)}'; then
      problems+=("exited ${after_sigint} s after SIGINT (bound ${exp_sigint} s)")
    fi
  fi

  # What the store and the output say.
  local nfailed=0 nevents=0 nfills=0 errfile=$dir/errors.txt allfile=$dir/everything.txt
  : > "$errfile"
  : > "$allfile"
  if [ -f "$db" ]; then
    IFS='|' read -r nfailed nevents nfills < <(sq "$db" "SELECT
        (SELECT count(*) FROM executions WHERE pipeline='attacker' AND status='failed'),
        (SELECT count(*) FROM events WHERE pipeline='attacker'),
        (SELECT count(*) FROM fills f JOIN executions e ON e.id = f.execution_id WHERE e.pipeline='attacker')")
    sq "$db" "SELECT reason FROM executions WHERE pipeline='attacker' AND status='failed';
              SELECT kind || ': ' || message FROM events WHERE pipeline='attacker';" > "$errfile"
    sq "$db" "SELECT reason FROM executions; SELECT message FROM events;" > "$allfile"
  fi
  nfailed=${nfailed:-0}; nevents=${nevents:-0}; nfills=${nfills:-0}
  cat "$dir/err.txt" >> "$errfile"
  cat "$dir/out.txt" "$dir/err.txt" >> "$allfile"

  if grep -qE "$ALARMS" "$allfile"; then
    problems+=("alarm raised by the attempt: $(grep -m1 -oE "($ALARMS).{0,160}" "$allfile")")
  fi
  case "$exp_pipeline" in
    "") ;;
    failed) [ "$nfailed" -ge 1 ] || problems+=("expected a failed execution of the attacker, found none") ;;
    clean) [ "$nfailed" -eq 0 ] || problems+=("expected no failed execution, found $nfailed: $(sq "$db" "SELECT reason FROM executions WHERE pipeline='attacker' AND status='failed' LIMIT 1" | cut -c1-200)") ;;
    traded) [ "$nfills" -ge 1 ] || problems+=("expected the attacker's own trade to fill, found no fill") ;;
    refused)
      grep -q "nothing was traded" "$dir/err.txt" || problems+=("expected the host to refuse the pipeline ('nothing was traded' on stderr)") ;;
    *) problems+=("unknown pipeline expectation '$exp_pipeline'") ;;
  esac
  if [ "$exp_rule" = fired ]; then
    local closed
    closed=$(sq "$db" "SELECT count(*) FROM executions WHERE pipeline='attacker' AND status='completed'
                        AND reason LIKE '%instruction \"close if GAUGE > 40\"%'")
    [ "${closed:-0}" -ge 1 ] || problems+=("the attacker's instruction rule did not close its position (executions: $(sq "$db" "SELECT status || ' ' || ifnull(reason,'') FROM executions WHERE pipeline='attacker'" | head -3 | tr '\n' '|' | cut -c1-240))")
  fi
  local pat
  local alt found
  for pat in "${exp_err[@]}"; do # "a|b": either
    found=0
    IFS='|' read -ra alts <<<"$pat"
    for alt in "${alts[@]}"; do grep -qF -- "$alt" "$errfile" && found=1; done
    [ "$found" = 1 ] || problems+=("no error says '$pat'; first: $(grep -m1 -v '^$' "$errfile" | cut -c1-240)")
  done
  for pat in "${exp_noerr[@]}"; do
    grep -qF -- "$pat" "$allfile" && problems+=("'$pat' appears: $(grep -m1 -F -- "$pat" "$allfile" | cut -c1-240)")
  done
  if [ "$exp_at" = 1 ]; then
    local n=0 ok=0 marked="" l ln
    while IFS= read -r l; do
      n=$((n + 1))
      [[ "$l" == *@here* ]] && marked="$marked $n"
    done < "$file"
    for ln in $marked; do
      grep -qE -- "${base//./\\.}:${ln}([^0-9]|\$)" "$errfile" && ok=1
    done
    [ -n "$marked" ] || problems+=("at=@ but no line of $base is marked @here")
    [ "$ok" = 1 ] || problems+=("no error names $base:${marked# }; first: $(grep -m1 -v '^$' "$errfile" | cut -c1-240)")
  fi
  [ -z "$exp_failed" ] || [ "$nfailed" -le "$exp_failed" ] || problems+=("$nfailed failed executions recorded (bound $exp_failed)")
  [ -z "$exp_events" ] || [ "$nevents" -le "$exp_events" ] || problems+=("$nevents events recorded for the attacker (bound $exp_events)")
  local f
  for pat in "${exp_reached[@]}"; do
    grep -qF -- "$pat" "$dir/out.txt" || problems+=("the attack never started: '$pat' was not printed (its setup failed?)")
  done
  for f in "${exp_absent[@]}"; do [ -e "$dir/$f" ] && problems+=("$f exists: the attempt wrote it"); done
  for f in "${exp_present[@]}"; do [ -e "$dir/$f" ] || problems+=("$f is gone: the attempt removed it"); done

  case "$exp_control" in
    "") ;;
    unaffected)
      if [[ "$mode" == run || "$mode" == sigint-* ]]; then
        problems+=("control=unaffected needs a backtest (the live loop's timing varies); use control=alive")
      else
        local sig
        sig=$(control_signature "$db")
        if [ "$sig" != "$BASELINE" ]; then
          diff <(printf '%s\n' "$BASELINE") <(printf '%s\n' "$sig") > "$dir/control.diff"
          problems+=("the control's trades differ from its run alone: $(grep -m1 '^[<>]' "$dir/control.diff" | cut -c1-200) ($(grep -c '^[<>]' "$dir/control.diff") line(s))")
        fi
      fi ;;
    alive)
      local cf cx
      cf=$(sq "$db" "SELECT count(*) FROM fills f JOIN executions e ON e.id = f.execution_id WHERE e.pipeline='control'")
      cx=$(sq "$db" "SELECT count(*) FROM executions WHERE pipeline='control' AND status='failed'")
      if [[ "$mode" != sigint-* ]] && [ "${cf:-0}" -lt 1 ]; then problems+=("the control made no trade"); fi
      [ "${cx:-0}" -eq 0 ] || problems+=("the control has $cx failed execution(s)") ;;
    none)
      local cn
      cn=$(sq "$db" "SELECT count(*) FROM executions WHERE pipeline='control'")
      [ "${cn:-0}" -eq 0 ] || problems+=("the control traded although the run should have been refused") ;;
    *) problems+=("unknown control expectation '$exp_control'") ;;
  esac

  local verdict=PASS
  [ "${#problems[@]}" -eq 0 ] || verdict=FAIL
  printf '%s  %-34s wall %7.2f s  rss %4d MiB  out %7d KiB  exit %s\n' "$verdict" "$GROUP/$name" \
    "$wall" "$rss_mib" $(( total_out / 1024 )) "${code:-$status${signal:+ $signal}}"
  local p
  for p in "${problems[@]}"; do echo "      - $p"; done
  if [ "$verdict" = FAIL ]; then
    FAILED=$((FAILED + 1))
    FAILED_NAMES+=("$name")
    echo "      stderr (last lines):"
    tail -c 2000 "$dir/err.txt" | tail -n 4 | cut -c1-300 | sed 's/^/        /'
  else
    PASSED=$((PASSED + 1))
  fi
  if [ -n "${SANDBOX_RESULTS:-}" ]; then
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$GROUP" "$name" "$verdict" "$wall" "$rss_mib" \
      "$(tr '\t\n' '  ' <<<"${problems[0]:-}" | cut -c1-300)" >> "$SANDBOX_RESULTS"
  fi
}

echo "sandbox escape suite, group $GROUP ($( [ "$SANITIZE" = 1 ] && echo sanitizer build || echo plain build )):" \
     "liveness ${TIMEOUT} s, RSS ceiling ${RSS_CEILING} MiB, output <= $((OUT_MAX >> 20)) MiB, lines <= $((LINE_MAX >> 10)) KiB"
if [ $# -gt 0 ]; then
  files=()
  for a in "$@"; do files+=("$ATTEMPTS/${a%.lua}.lua"); done
else
  files=("$ATTEMPTS"/*.lua)
fi
for f in "${files[@]}"; do
  [ -f "$f" ] || { echo "no such attempt: $f" >&2; FAILED=$((FAILED + 1)); continue; }
  run_attempt "$f" || { echo "FAIL  $GROUP/$(basename "$f" .lua): bad attempt header"; FAILED=$((FAILED + 1)); }
done
elapsed=$(awk -v s="$GROUP_START" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e - s}')
echo "group $GROUP: $PASSED passed, $FAILED failed in ${elapsed} s${FAILED_NAMES[*]:+ (failed: ${FAILED_NAMES[*]})}"
[ "$FAILED" -eq 0 ]
