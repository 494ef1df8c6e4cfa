local base = nil
return apex.pipeline {
  name = "runtime",
  symbols = { base.symbol },
}
