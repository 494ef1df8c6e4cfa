"""compare: the trade lists of apex-host and backtrader side by side (bench/backtrader_compare.sh).

    python3 compare.py APEX.db BT_TRADES.csv

APEX.db is the store `apex-host backtest --db` wrote: each execution's buy fills make its
entry, its sell fills its exit (quantity-weighted prices, the first and last fill's date).
BT_TRADES.csv is what sma_cross_bt.py wrote. Prints both lists trade by trade, paired by
entry date, and whether they agree: the same trades, with the same entry and exit dates and
prices within half a cent. Exit status 0 when they agree, 1 when not.
"""
import csv
import datetime
import sqlite3
import sys

MONEY_SCALE = 100000000  # core/money/money.h
SECOND = 1000000  # core/clock/clock.h: store times are microseconds


def day(ts):
    return datetime.datetime.fromtimestamp(ts / SECOND, datetime.timezone.utc).date().isoformat()


def apex_trades(path):
    db = sqlite3.connect(path)
    rows = db.execute("SELECT execution_id, side, qty, price, ts FROM fills "
                      "ORDER BY execution_id, ts, id").fetchall()
    by_exec = {}
    for ex, side, qty, price, ts in rows:
        legs = by_exec.setdefault(ex, {"buy": [], "sell": []})
        legs["buy" if side.lower() == "buy" else "sell"].append((qty, price, ts))
    trades = []
    for ex in sorted(by_exec):
        legs = by_exec[ex]
        if not legs["buy"]:
            continue

        def leg(fills):
            qty = sum(f[0] for f in fills)
            return qty, sum(f[0] * f[1] for f in fills) / qty / MONEY_SCALE

        _, entry_price = leg(legs["buy"])
        entry_day = day(legs["buy"][0][2])
        if legs["sell"]:
            _, exit_price = leg(legs["sell"])
            trades.append((entry_day, entry_price, day(legs["sell"][-1][2]), exit_price))
        else:
            trades.append((entry_day, entry_price, None, None))
    return trades


def bt_trades(path):
    trades = []
    with open(path) as f:
        for row in csv.DictReader(f):
            trades.append((row["entry_date"], float(row["entry_price"]), row["exit_date"] or None,
                           float(row["exit_price"]) if row["exit_price"] else None))
    return trades


def fmt(t):
    if t is None:
        return "%-37s" % "-"
    exit_part = "%s %9.4f" % (t[2], t[3]) if t[2] else "%-20s" % "(open)"
    return "%s %9.4f  %s" % (t[0], t[1], exit_part)


def same(a, b):
    if a is None or b is None:
        return False
    if a[0] != b[0] or a[2] != b[2] or abs(a[1] - b[1]) > 0.005:
        return False
    return a[3] is None and b[3] is None or (a[3] is not None and b[3] is not None
                                             and abs(a[3] - b[3]) <= 0.005)


def aligned(apex, btr):
    """Pairs the two lists by entry date (both are in time order), so a trade one side
    missed shows alone on its line instead of shifting every later pair."""
    i = j = 0
    while i < len(apex) or j < len(btr):
        a = apex[i] if i < len(apex) else None
        b = btr[j] if j < len(btr) else None
        if a is not None and b is not None and a[0] == b[0]:
            yield a, b
            i, j = i + 1, j + 1
        elif b is None or (a is not None and a[0] < b[0]):
            yield a, None
            i += 1
        else:
            yield None, b
            j += 1


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: compare.py APEX.db BT_TRADES.csv")
    apex, btr = apex_trades(sys.argv[1]), bt_trades(sys.argv[2])
    print("%4s  %-37s  %-37s" % ("#", "apex-host: entry date, price, exit date, price",
                                 "backtrader"))
    differ = rows = 0
    for a, b in aligned(apex, btr):
        rows += 1
        ok = same(a, b)
        differ += not ok
        print("%4d  %s  %s  %s" % (rows, fmt(a), fmt(b), "" if ok else "DIFFERENT"))
    if differ:
        print("trade lists DIFFER on %d of %d trades (apex-host %d trades, backtrader %d)"
              % (differ, rows, len(apex), len(btr)))
        return 1
    print("trade lists agree trade for trade: %d trades" % len(apex))
    return 0


if __name__ == "__main__":
    sys.exit(main())
