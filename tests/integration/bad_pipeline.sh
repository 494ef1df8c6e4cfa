# A broken pipeline.lua gives a clear error naming the file and line or field, and a
# non-zero exit code; nothing is traded.
source "$(dirname "$0")/lib.sh"
demo_setup
cat > "$WORK/syntax.lua" <<'LUA'
return apex.pipeline {
  name = "broken",
  symbols = { "AAPL" }
  strategy = "x.lua",
}
LUA
set +e
out=$("$APEX_HOST" check "$WORK/syntax.lua" 2>&1); code=$?
set -e
assert_eq "$code" "3" "check exits 3 on a syntax error"
assert_contains "$out" "syntax.lua:4:" "the error names the file and line"

cat > "$WORK/fields.lua" <<LUA
return apex.pipeline {
  name = "fields",
  symbols = { "AAPL" },
  data = { files = { "$WORK/data/bars.csv" } },
  strategy = "$APEX_SOURCE_DIR/strategies/ma_cross.lua",
  risk = { max_risk_pct = 2, max_positions = "ten" },
  monitoring = { normal_frequncy = 30 },
}
LUA
set +e
out=$("$APEX_HOST" check "$WORK/fields.lua" 2>&1); code=$?
set -e
assert_eq "$code" "3" "check exits 3 on bad fields"
assert_contains "$out" "risk.max_positions" "a wrong type names the field"
assert_contains "$out" "risk.max_risk_pct" "an out-of-range value names the field"
assert_contains "$out" "normal_frequncy" "an unknown field is named"

set +e
out=$("$APEX_HOST" run --db "$WORK/run.db" "$WORK/fields.lua" 2>&1); code=$?
set -e
assert_eq "$code" "3" "run refuses an invalid pipeline with exit 3"
[ ! -s "$WORK/run.db" ] || [ "$(sq "$WORK/run.db" 'SELECT count(*) FROM orders')" = "0" ] && pass "nothing traded" || fail "orders were placed"

# A malformed row in the middle of the data stops the run with its file and line.
head -100 "$WORK/data/bars.csv" > "$WORK/holed.csv"
echo "2024-03-04T14:50:00Z,AAPL,175.00,abc,174.00,175.10,1000,175.09,175.11" >> "$WORK/holed.csv"
tail -n +101 "$WORK/data/bars.csv" >> "$WORK/holed.csv"
sed "s#$WORK/data/bars.csv#$WORK/holed.csv#" "$WORK/pipelines/ma_trend.lua" > "$WORK/holed.lua"
set +e
out=$("$APEX_HOST" backtest --quiet --db "$WORK/holed.db" "$WORK/holed.lua" 2>&1); code=$?
set -e
assert_eq "$code" "1" "a malformed row mid-file stops the backtest with exit 1"
assert_contains "$out" "holed.csv:101: column 'high'" "the error names the file, line and column"

out=$("$APEX_HOST" check "$WORK/pipelines/ma_trend.lua" 2>&1)
assert_contains "$out" "ok" "the example pipeline passes check"
finish
