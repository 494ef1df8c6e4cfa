-- rsi_reversion: mean reversion in a ranging stock.
--
-- MSFT, bought when RSI(14) crosses back up through 30 while range_bias sees a ranging
-- market (narrow Bollinger bands), stop below the recent low, target the Bollinger
-- middle band. Positions are closed on high impact news for MSFT and by the VIX-spike
-- rule file.
--
-- Try it:   apex-datagen data/demo
--           apex-host backtest strategies/examples/rsi_reversion.lua
-- Paths are relative to this file.
return apex.pipeline {
    name = "rsi-reversion",
    symbols = { "MSFT" },
    data = { files = { "../../data/demo/bars.csv" }, news = "../../data/demo/news.csv" },
    broker = { kind = "paper", starting_cash = 100000 },
    bias = { file = "../range_bias.lua", params = { bb_period = 20, max_width = 0.012 } },
    strategy = {
        file = "../rsi_reversion.lua",
        params = { rsi_period = 14, oversold = 30, target = "mid", low_lookback = 10 },
    },
    risk = { max_risk_pct = 0.01, max_position_pct = 0.25, max_positions = 1 },
    instructions = {
        "exit on high impact news for this symbol",
        { file = "../../instructions/vix_spike.lua" },
    },
}
