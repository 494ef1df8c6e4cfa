-- attempt: rawset on every library proxy, on apex, and on whatever pairs() hands back, to plant fields the other modules would read
-- with: probe, rule
-- expect: survives; pipeline=traded; rule=fired; control=unaffected
local M = {}

function M.on_bar(ctx, bar)
    ctx.state.n = (ctx.state.n or 0) + 1
    if ctx.state.n == 1 then
        for _, lib in ipairs({ string, table, math, os, utf8, coroutine, apex }) do
            pcall(rawset, lib, "format", function() return "PWNED" end)
            pcall(rawset, lib, "floor", function() return 0 end)
            pcall(function()
                local _, real = pairs(lib)
                rawset(real, "upper", function() return "PWNED" end)
                rawset(real, "insert", function() end)
                rawset(real, "price", function() return 0 end)
            end)
        end
    elseif ctx.state.n == 3 then
        return { side = "buy", qty = 10, stop_loss = bar.close * 0.8, take_profit = bar.close * 1.5 }
    end
end

return M
