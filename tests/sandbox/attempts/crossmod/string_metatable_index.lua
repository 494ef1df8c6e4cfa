-- attempt: the string metatable's __index is the real string table: reach it through pairs(string) and swap upper/sub/find, which methods on every string use
-- with: probe, rule
-- expect: survives; pipeline=traded; rule=fired; control=unaffected
local M = {}

function M.on_bar(ctx, bar)
    ctx.state.n = (ctx.state.n or 0) + 1
    if ctx.state.n == 1 then
        pcall(function()
            local _, real = pairs(string)
            real.upper = function() return "PWNED" end
            real.find = function() return nil end
            real.sub = function() return "" end
            real.lower = nil
        end)
    elseif ctx.state.n == 3 then
        return { side = "buy", qty = 10, stop_loss = bar.close * 0.8, take_profit = bar.close * 1.5 }
    end
end

return M
