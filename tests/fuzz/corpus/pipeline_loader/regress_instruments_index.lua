-- An instruments entry whose __index adds instruments while the loader walks the table
-- (the second pass wrote past its array; a double free in `check`).
local n = 0
local mt = { __index = function(t, k)
  n = n + 1
  if n < 50 then INSTR["S" .. n] = { tick = 0.01 } end
end }
INSTR = { A = setmetatable({}, mt), B = { lot = 1 } }
return apex.pipeline { name = "x", symbols = { "A" }, data = { files = "bars.csv" },
                       strategy = "strategy.lua", instruments = INSTR }
