-- Several mistakes at once.
return {
  name = "bad name!",
  symbols = { "AAPL" },
  data = { files = { "bars.csv", "missing.csv" } },
  strategy = { file = "../nope.lua", params = { f = print } },
  risk = { max_risk = 0.02, max_positions = "ten", allow_short = "yes" },
  exits = { session_close = "9pm", stop_loss_pct = 2,
            partial_exits = { stages = { { name = "a", profit_threshold = 0.1, exit_percentage = 150 } } } },
  execution = { tool = "fax" },
  monitoring = { retry_backoff = { 60, "later" } },
  colour = "blue",
}
