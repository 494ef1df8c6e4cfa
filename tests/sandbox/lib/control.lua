-- The control pipeline: its own symbol, a simple deterministic strategy and an emergency
-- instruction rule. An attack on another pipeline in the same process must not change
-- its trades, fills or P&L (compared with a run of this pipeline alone).
return apex.pipeline {
    name = "control",
    symbols = { "CTRL" },
    data = { files = { "bars.csv" } },
    strategy = "control_strategy.lua",
    -- the data has no quotes: the paper broker's simulated spread (0.04) must not count
    -- as dried-up liquidity
    exits = { liquidity = { max_spread = 1 } },
    instructions = { "close if GAUGE > 40" },
}
