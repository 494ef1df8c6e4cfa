-- ma_cross_exit: the strategy closes its own trades.
--
-- AAPL, long only: enter when SMA(10) crosses above SMA(30), close when it crosses back
-- (strategies/ma_cross_exit.lua returns { side = "close" }). The close is the exit
-- strategy_exit, worked at exits.strategy_exit_priority: CRITICAL, a market order.
-- The bracket's stop and target stay as the safety net until then.
--
-- Try it:   apex-datagen data/demo
--           apex-host backtest strategies/examples/ma_cross_exit.lua
-- Paths are relative to this file.
return apex.pipeline {
    name = "ma-cross-exit",
    symbols = { "AAPL" },
    data = { files = { "../../data/demo/bars.csv" }, news = "../../data/demo/news.csv" },
    strategy = { file = "../ma_cross_exit.lua", params = { fast = 10, slow = 30 } },
    risk = { max_risk_pct = 0.01, max_position_pct = 0.20 },
    exits = {
        strategy_exit_priority = "CRITICAL", -- the default, spelt out
        partial_exits = { enabled = false }, -- the strategy decides when to get out
    },
}
