return apex.pipeline {
  name = "minimal",
  symbols = { "AAPL" },
  data = { files = "bars.csv" },
  strategy = "../strategy_basic.lua",
}
