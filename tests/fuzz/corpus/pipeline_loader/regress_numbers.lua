-- Out of range and too small: every numeric kind, and an explicit 0 tick.
return apex.pipeline { name = "x", symbols = { "AAPL" }, data = { files = "bars.csv", speed = 1e30 },
                       strategy = "strategy.lua", random_seed = 1e30,
                       risk = { capital = 1e-9, max_positions = 1e30, max_risk_pct = -1/0 },
                       monitoring = { retry_backoff = { 1e30, 0/0 } },
                       exits = { partial_exits = { stages = { { profit_threshold = 1e30,
                                                                 exit_percentage = 1e-7 } } } },
                       instruments = { default = { tick = 1e-9 }, AAPL = { tick = 0, lot = 1e30 },
                                       ["A B"] = { lot = 1 } } }
