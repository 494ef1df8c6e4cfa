-- ma_trend: trend-following on 1-minute bars.
--
-- AAPL and TSLA, traded long when trend_bias says the 50-bar EMA trend is up (short
-- only if you set allow_short on the strategy and the bias turns short), entries on a
-- 10/30 SMA crossover with a 2 x ATR(14) stop and a 2:1 target. Two emergency rules
-- close everything when volatility explodes or the market drops.
--
-- Try it:   apex-datagen data/demo
--           apex-host backtest strategies/examples/ma_trend.lua
-- Paths are relative to this file.
return apex.pipeline {
    name = "ma-trend",
    symbols = { "AAPL", "TSLA" },
    data = { files = { "../../data/demo/bars.csv" }, news = "../../data/demo/news.csv" },
    broker = { kind = "paper", starting_cash = 100000 },
    bias = { file = "../trend_bias.lua", params = { period = 50, slope_bars = 10 } },
    strategy = {
        file = "../ma_cross.lua",
        params = { fast = 10, slow = 30, kind = "sma", stop_atr = 2, reward_risk = 2 },
    },
    risk = { max_risk_pct = 0.01, max_position_pct = 0.20, max_positions = 2 },
    -- ma_cross's edge() starts near 0 on the crossing bar and grows as the trend runs, so
    -- early_exit (edge below a threshold) would close trades minutes after entry: off.
    -- edge_disappeared still closes a trade once the averages cross back.
    exits = { early_exit_edge = 0 },
    instructions = {
        "close if VIX > 40",
        "liquidate if SPY drops 3% intraday",
    },
}
