-- Tables with metatables are refused by name: the walk reads raw and runs no Lua code.
local base = { max_positions = 3 }
return apex.pipeline { name = "x", symbols = { "AAPL" }, data = { files = "bars.csv" },
                       strategy = { file = "strategy.lua",
                                    params = setmetatable({}, { __index = base }) },
                       risk = setmetatable({}, { __index = base }),
                       instructions = setmetatable({}, { __len = function() return 3 end }) }
