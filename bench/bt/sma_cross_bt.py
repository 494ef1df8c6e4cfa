"""sma_cross_bt: the SMA(10)/SMA(30) crossover of bench/backtrader_compare.sh in backtrader.

    PYTHONPATH=/path/to/backtrader python3 sma_cross_bt.py DATA.csv TRADES.csv

Long only, a fixed 100 shares: buy on the bar where SMA10 crosses above SMA30 (backtrader's
CrossOver > 0), close the whole position on the bar where it crosses below (< 0), with the
default broker: a market order fills at the next bar's open, no commission, no slippage.
DATA.csv is apex-host's bar CSV (timestamp,symbol,open,high,low,close,volume) of one
symbol, daily. Writes one line per trade to TRADES.csv:
entry_date,entry_price,exit_date,exit_price (the exit empty while still open at the end).
backtrader is not a dependency of apex-host: the caller points PYTHONPATH at a checkout.
"""
import sys

import backtrader as bt

SIZE = 100
CASH = 1000000.0


class SmaCross(bt.Strategy):
    params = dict(fast=10, slow=30)

    def __init__(self):
        fast = bt.ind.SMA(self.data.close, period=self.p.fast)
        slow = bt.ind.SMA(self.data.close, period=self.p.slow)
        self.cross = bt.ind.CrossOver(fast, slow)
        self.fills = []  # (date, price, is_buy)

    def next(self):
        if not self.position:
            if self.cross[0] > 0:
                self.buy(size=SIZE)
        elif self.cross[0] < 0:
            self.close()

    def notify_order(self, order):
        if order.status == order.Completed:
            day = bt.num2date(order.executed.dt).date().isoformat()
            self.fills.append((day, order.executed.price, order.isbuy()))
        elif order.status in (order.Canceled, order.Margin, order.Rejected):
            sys.exit("backtrader refused an order: %s" % order.getstatusname())


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: sma_cross_bt.py DATA.csv TRADES.csv")
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.broker.setcash(CASH)
    data = bt.feeds.GenericCSVData(
        dataname=sys.argv[1], dtformat="%Y-%m-%d %H:%M:%S", timeframe=bt.TimeFrame.Days,
        datetime=0, open=2, high=3, low=4, close=5, volume=6, openinterest=-1)
    cerebro.adddata(data)
    cerebro.addstrategy(SmaCross)
    strategy = cerebro.run()[0]
    with open(sys.argv[2], "w") as out:
        out.write("entry_date,entry_price,exit_date,exit_price\n")
        entry = None
        for day, price, is_buy in strategy.fills:
            if is_buy:
                entry = (day, price)
            else:
                out.write("%s,%.4f,%s,%.4f\n" % (entry[0], entry[1], day, price))
                entry = None
        if entry:
            out.write("%s,%.4f,,\n" % entry)


if __name__ == "__main__":
    main()
