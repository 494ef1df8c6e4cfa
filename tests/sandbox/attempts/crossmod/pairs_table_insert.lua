-- attempt: replace table.insert and table.concat through pairs(table)'s second value
-- with: probe, rule
-- expect: survives; pipeline=traded; rule=fired; control=unaffected
local M = {}

function M.on_bar(ctx, bar)
    ctx.state.n = (ctx.state.n or 0) + 1
    if ctx.state.n == 1 then
        pcall(function()
            local _, real = pairs(table)
            if type(real) == "table" then
                real.insert = function() end
                real.concat = function() return "PWNED" end
            end
        end)
    elseif ctx.state.n == 3 then
        return { side = "buy", qty = 10, stop_loss = bar.close * 0.8, take_profit = bar.close * 1.5 }
    end
end

return M
