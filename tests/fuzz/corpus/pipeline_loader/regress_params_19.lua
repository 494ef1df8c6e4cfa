-- Params 19 levels deep overflowed the Lua stack in to_json (8 broke the API contract).
local P = { 1 }
for i = 1, 19 do P = { x = P, list = { 1, { 2 } } } end
return apex.pipeline { name = "x", symbols = { "AAPL" }, data = { files = "bars.csv" },
                       strategy = { file = "strategy.lua", params = P } }
