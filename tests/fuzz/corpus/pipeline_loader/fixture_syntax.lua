return apex.pipeline {
  name = "broken",
  symbols = { "AAPL" }
  data = { files = "bars.csv" },
}
