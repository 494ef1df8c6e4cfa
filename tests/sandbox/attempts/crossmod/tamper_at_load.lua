-- attempt: all of it in the module body, before any callback runs: pairs() leaks, rawset, require'd tables, a planted global
-- with: probe, rule
-- expect: survives; pipeline=traded; rule=fired; control=unaffected
for _, lib in ipairs({ string, table, math, os, utf8, coroutine }) do
    pcall(function()
        local _, real = pairs(lib)
        real.format, real.insert, real.floor, real.time = nil, nil, nil, nil
    end)
end
pcall(function() require("apex.ta").sma = nil end)
pcall(function() require("apex.instructions").compile = nil end)
PWNED = true

local M = {}

function M.on_bar(ctx, bar)
    ctx.state.n = (ctx.state.n or 0) + 1
    if ctx.state.n == 3 then
        return { side = "buy", qty = 10, stop_loss = bar.close * 0.8, take_profit = bar.close * 1.5 }
    end
end

return M
