-- breakout_stop: stop entries that expire, ctx.history and a stop the strategy moves.
--
-- AAPL, long only: a buy stop above the 20-bar high (strategies/breakout_stop.lua reads
-- the bars with ctx.history, so the pipeline keeps `history = 20` of them), cancelled
-- after 3 bars unfilled; at +1R the strategy's stop() moves the stop to break-even and then
-- trails the 10-bar low. The built-in trailing stop is off, so the strategy alone moves it.
--
-- Try it:   apex-datagen data/demo
--           apex-host backtest strategies/examples/breakout_stop.lua
-- Paths are relative to this file.
return apex.pipeline {
    name = "breakout-stop",
    symbols = { "AAPL" },
    data = { files = { "../../data/demo/bars.csv" }, news = "../../data/demo/news.csv" },
    history = 20, -- bars kept per symbol for ctx.history
    strategy = { file = "../breakout_stop.lua", params = { lookback = 20, trail = 10, expires = 3 } },
    risk = { max_risk_pct = 0.01, max_position_pct = 0.20 },
    exits = {
        trailing_stop = { enabled = false }, -- the strategy's stop() trails instead
        partial_exits = { enabled = false },
    },
}
