# bench/lib.sh: what the benchmark scripts share. Source it after `cd` to the repository
# and after setting BUILD and OUT.

# bench_need PROGRAM...: each built program in $BUILD, or a message saying to build first.
bench_need() {
  for b in "$@"; do
    [ -x "$BUILD/$b" ] || { echo "build first: make build ($BUILD/$b)" >&2; exit 1; }
  done
}

# bench_fresh_out: an empty $OUT (with $OUT/p for the pipeline's files); OUT and BUILD made
# absolute, since the pipelines written there name files by absolute path.
bench_fresh_out() {
  rm -rf "$OUT"
  mkdir -p "$OUT/p"
  OUT=$(cd "$OUT" && pwd)
  BUILD=$(cd "$BUILD" && pwd)
}

# bench_flat_bars N FILE: N one-minute AAPL bars from 2024-03-04 14:30 UTC, flat at 100 with
# a quote, so a bracket at 50 and 200 never fills and every exit is the strategy's.
bench_flat_bars() {
  local start=1709562600 # 2024-03-04T14:30:00Z
  {
    echo "timestamp,symbol,open,high,low,close,volume,bid,ask"
    for i in $(seq 0 $(($1 - 1))); do
      echo "$(date -u -d "@$((start + i * 60))" +%Y-%m-%dT%H:%M:%SZ),AAPL,100.00,100.10,99.90,100.00,1000,99.99,100.01"
    done
  } > "$2"
}

# bench_flip_strategy FILE: buys 1 on a bar without a position, closes on the next: an entry
# or an exit on every bar.
bench_flip_strategy() {
  cat > "$1" << 'LUA'
return { on_bar = function(ctx, bar)
  if ctx.position then return { side = "close", reason = "bench" } end
  return { side = "buy", qty = 1, stop_loss = 50, take_profit = 200 }
end }
LUA
}
