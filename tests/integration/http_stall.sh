# A slow HTTP client never delays the trading loop (issue 12): while clients read large
# responses one byte a second (the chart library, a 1000-row page) and a stream client
# reads nothing at all, `apex-host run --http` replays bars at 240x and a strategy closes
# its position on known bars. Every exit must happen on its bar: triggered within the close
# bar's minute and filled on the next bar, as the data says; a loop held up by a client
# for a quarter of a second would push a trigger past its bar. No timing is asserted.
source "$(dirname "$0")/lib.sh"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# 40 one-minute bars of one symbol from 2024-03-04 14:30 UTC.
python3 - "$WORK/bars.csv" <<'PY'
import datetime, sys
t0 = datetime.datetime(2024, 3, 4, 14, 30, tzinfo=datetime.timezone.utc)
with open(sys.argv[1], "w") as f:
    f.write("timestamp,symbol,open,high,low,close,volume\n")
    for i in range(40):
        p = 100 + (i % 5) * 0.1
        t = (t0 + datetime.timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        f.write(f"{t},STALL,{p:.2f},{p + 0.2:.2f},{p - 0.2:.2f},{p:.2f},1000\n")
PY
cat > "$WORK/strat.lua" <<'LUA'
-- Enters on bar 3 of every 10 and closes on bar 7: every exit's bar is known from the data.
return { on_bar = function(ctx, bar)
  ctx.state.n = (ctx.state.n or 0) + 1
  local k = ctx.state.n % 10
  if k == 3 and not ctx.position then return { side = "buy", stop_loss = 50, take_profit = 200 } end
  if k == 7 and ctx.position then return { side = "close", reason = "bar 7" } end
end }
LUA
cat > "$WORK/p.lua" <<LUA
return apex.pipeline {
  name = "stall", symbols = { "STALL" },
  data = { files = { "$WORK/bars.csv" } },
  strategy = "$WORK/strat.lua",
  risk = { max_position_pct = 0.2, max_risk_pct = 0.01 },
}
LUA
# Slow readers: each connection asks for a large response with a 1 KiB receive buffer,
# reads the headers and then one byte of the body a second; the stream client completes the upgrade and never reads. They
# run until the test says stop (the host's sockets still deliver what they hold after it
# exits), then print what each got and what it should have got.
cat > "$WORK/slow.py" <<'PY'
import os, socket, sys, time
port, stop = int(sys.argv[1]), sys.argv[2]
paths = ["/assets/vendor/chart.js", "/assets/vendor/chart.js", "/api/v1/events?limit=1000",
         "/api/v1/orders?limit=1000"]
conns = []
for p in paths:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    s.connect(("127.0.0.1", port))
    s.sendall(f"GET {p} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    head = b""
    while not head.endswith(b"\r\n\r\n"):  # the headers at once, then the body slowly
        b = s.recv(1)
        if not b:
            break
        head += b
    conns.append([p, s, head])
ws = socket.socket()
ws.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
ws.connect(("127.0.0.1", port))
ws.sendall(b"GET /api/v1/stream HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
print("connected", flush=True)
open_ = len(conns)
while open_ and not os.path.exists(stop):
    time.sleep(1)
    open_ = 0
    for c in conns:
        if c[1] is None:
            continue
        b = c[1].recv(1)
        if not b:
            c[1] = None
            continue
        c[2] += b
        open_ += 1
for p, _, got in conns:
    head, _, body = got.partition(b"\r\n\r\n")
    length = [l.split(b":")[1].strip() for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")]
    print(p, len(body), int(length[0]) if length else -1, head.split(b"\r\n")[0].decode())
PY

PORT=$(free_port)
"$APEX_HOST" run --fresh --speed 240 --db "$WORK/s.db" --http "127.0.0.1:$PORT" "$WORK/p.lua" \
  > "$WORK/run.out" 2>&1 &
rpid=$!
trap 'for p in ${rpid:-} ${spid:-}; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do curl -s -m 1 "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.05; done
python3 "$WORK/slow.py" "$PORT" "$WORK/stop" > "$WORK/slow.out" 2>&1 &
spid=$!
code=0; wait $rpid || code=$?
assert_eq "$code" "0" "the run ends normally"
[ "$code" = 0 ] || cat "$WORK/run.out"
rpid=""
touch "$WORK/stop"
wait $spid || true
spid=""
cat "$WORK/slow.out"

# The slow path was taken: every reader got its headers and part of its body, not all of it.
while read -r path got want status; do
  [ "$path" = connected ] && continue
  assert_contains "$status" "200" "$path answered"
  if [ "$got" -gt 0 ] && [ "$got" -lt "$want" ]; then pass "$path was still being read when the run ended ($got of $want bytes)"
  else fail "$path: read $got of $want bytes; the test needs a reader in the middle of a response"; fi
done < "$WORK/slow.out"

# Every close happened on its bar: bars 7, 17, 27, 37 (14:36, 14:46, 14:56, 15:06 UTC) close,
# and the exit fills on the bar after.
want=""
got=""
for k in 0 1 2 3; do
  close=$(( $(date -u -d 2024-03-04T14:36:00Z +%s) + k * 600 ))
  want="$want$close $((close + 60)) "
done
got=$(sq "$WORK/s.db" "SELECT printf('%d %d', (x.triggered_at / 60000000) * 60, f.ts / 1000000) FROM position_exits x JOIN exit_attempts a ON a.exit_id = x.exit_id JOIN fills f ON f.order_client_id = a.client_order_id WHERE x.exit_reason = 'strategy_exit' ORDER BY x.exit_id" | tr '\n' ' ')
assert_eq "$got" "$want" "each exit triggered within its close bar's minute and filled on the next bar"
assert_eq "$(sq "$WORK/s.db" "SELECT count(*) FROM executions WHERE status = 'completed'")" "4" "four round trips completed"
finish
