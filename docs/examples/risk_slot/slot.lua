-- docs/risk.md's worked example: one slot (max_positions = 1) and two signals on one bar.
return apex.pipeline {
    name = "slot",
    symbols = { "AAPL", "MSFT" },
    data = { files = { "bars.csv" } },
    broker = { kind = "paper", starting_cash = 100000 },
    strategy = "strategy.lua",
    risk = { max_positions = 1, max_position_pct = 0.2, max_risk_pct = 0.01 },
}
