# docs/approval.md's CLI session and the running host's lines, run as the document shows
# them and compared with its quotes (times, expiry stamps and order ids masked): the
# session needs a host waiting for answers while the CLI gives them, which the console
# blocks docs.commands runs cannot hold.
source "$(dirname "$0")/lib.sh"
cd "$WORK"
cat > s.lua <<'LUA'
-- Buys on the 3rd bar: AAPL with a stop at 95 and a target at 120, MSFT at 380 and 480.
local plan = { AAPL = { 95, 120 }, MSFT = { 380, 480 } }
return { on_bar = function(ctx, bar)
  ctx.state.n = (ctx.state.n or 0) + 1
  if ctx.state.n == 3 then
    local p = plan[bar.symbol]
    return { side = "buy", stop_loss = p[1], take_profit = p[2] }
  end
end }
LUA
echo "timestamp,symbol,open,high,low,close,volume" > live.csv
cat > demo.lua <<'LUA'
return apex.pipeline {
  name = "demo", symbols = { "AAPL", "MSFT" },
  data = { files = { "live.csv" }, follow = true },
  strategy = "s.lua",
  risk = { max_position_pct = 0.2, max_risk_pct = 0.01 },
  execution = { mode = "approval", approval_timeout = 300 },
}
LUA
"$APEX_HOST" run demo.lua > run.out 2>&1 &
hpid=$!
trap 'kill $hpid 2> /dev/null || true; wait $hpid 2> /dev/null || true; rm -rf "$WORK"' EXIT
sleep 0.5
now=$(date +%s)
for i in 0 1 2; do
  echo "$((now + i)),AAPL,100.00,100.20,99.90,100.00,500" >> live.csv
  echo "$((now + i)),MSFT,400.00,400.20,399.90,400.00,500" >> live.csv
  sleep 0.3
done
assert_eq "$(until_sq apex.db "SELECT count(*) FROM approvals WHERE status = 'pending'" 2)" "2" "two requests wait"
# The session, as a terminal shows it.
{
  for cmd in "approvals" "approve 1" "reject 2 --reason \"earnings tomorrow\"" "approve 2"; do
    echo "\$ apex-host $cmd"
    eval "\"\$APEX_HOST\" $cmd" 2>&1 || true
  done
} > session.txt
assert_eq "$(until_sq apex.db "SELECT status FROM executions WHERE symbol = 'AAPL'" monitoring)" "monitoring" "the approved entry is sent"
kill -INT $hpid
wait $hpid || true

# Every quoted block of the CLI section and the host's lines, masked alike, must appear in
# what ran, in order.
python3 - "$APEX_SOURCE_DIR/docs/approval.md" session.txt run.out <<'PY' && pass "docs/approval.md's session and host lines are what the build prints" || fail "docs/approval.md differs from what the build prints (diff above)"
import re, sys
doc, session, run = (open(p).read() for p in sys.argv[1:])
def mask(s):
    s = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", "T", s)
    return re.sub(r"\b[0-9a-f]{8}-(\d+)-(\d+)\b", r"ID-\1-\2", s)
section = doc[doc.index("### The CLI"):doc.index("### Telegram")]
blocks, cur = [], []
for line in section.split("\n") + [""]:
    if line.startswith("    "):
        cur.append(line[4:])
    elif cur and line.strip() == "":
        blocks.append(cur); cur = []
    elif cur:
        blocks.append(cur); cur = []
ran = mask(session + run).split("\n")
bad = 0
for b in blocks:
    want = [mask(l) for l in b]
    if not any(ran[i:i + len(want)] == want for i in range(len(ran))):
        bad += 1
        print("quoted block not printed as quoted:\n  " + "\n  ".join(want), file=sys.stderr)
print(f"{len(blocks)} quoted blocks checked", file=sys.stderr)
sys.exit(1 if bad or len(blocks) < 3 else 0)
PY
finish
