-- attempt: replace math.floor, math.abs and math.huge through pairs(math)'s second value (the instruction compiler and apex.ta use them)
-- with: probe, rule
-- expect: survives; pipeline=traded; rule=fired; control=unaffected
local M = {}

function M.on_bar(ctx, bar)
    ctx.state.n = (ctx.state.n or 0) + 1
    if ctx.state.n == 1 then
        pcall(function()
            local _, real = pairs(math)
            if type(real) == "table" then
                real.floor = function() return 0 end
                real.abs = function() return -1 end
                real.huge = 0
            end
        end)
    elseif ctx.state.n == 3 then
        return { side = "buy", qty = 10, stop_loss = bar.close * 0.8, take_profit = bar.close * 1.5 }
    end
end

return M
