-- A nil in a list constructor (a misspelt variable) silently dropped every instruction.
local vix_rule = "close if VIX > 40"
return apex.pipeline { name = "x", symbols = { "AAPL", nil, "MSFT" },
                       data = { files = { "bars.csv", nope } }, strategy = "strategy.lua",
                       instructions = { vix_rule, loss_rule, "close if loss > 5%" },
                       monitoring = { retry_backoff = { 60, nil, 240 } },
                       exits = { partial_exits = { stages = { nil, { profit_threshold = 0.2,
                                                                      exit_percentage = 10 } } } },
                       notifications = { webhooks = { "https://a", nil, "https://b" } } }
