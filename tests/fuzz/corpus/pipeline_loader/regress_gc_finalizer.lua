-- A finalizer runs with hooks off, beyond the deadline: this one hung `check` at lua_close,
-- and finalizers could change tables while the loader walked them.
local I = { A = { tick = 0.01 } }
for i = 1, 200 do
  setmetatable({}, { __gc = function() I["S" .. i] = { tick = 0.01 } end })
end
KEEP = setmetatable({}, { __gc = function() while true do end end })
return apex.pipeline { name = "x", symbols = { "A" }, data = { files = "bars.csv" },
                       strategy = "strategy.lua", instruments = I }
