-- NUL bytes: params strings keep them, keys, paths, names and sentences are refused.
return apex.pipeline { name = "x", symbols = { "AAPL\0B" }, data = { files = "bars.csv\0x" },
                       strategy = { file = "strategy.lua",
                                    params = { s = "a\0b", ["k\0"] = 1, { 1 } } },
                       instructions = { "close if VIX > 40\0 or" } }
