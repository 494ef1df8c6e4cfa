return apex.pipeline {
  name = "local", symbols = { "AAPL" },
  data = { files = "bars.csv", news = "news.csv" },
  bias = "bias.lua",
  strategy = { file = "strategy.lua", params = { fast = 10, list = { 1, 2, 3 }, on = true } },
  instructions = { "close if VIX > 40", { file = "rule.lua" } },
  instruments = { default = { tick = 0.01, lot = 1 } },
}
