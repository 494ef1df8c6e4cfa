-- attempt: rewrite the tables require() returns (apex.ta, apex.instructions, apex.params), which every module of the pipeline shares
-- with: probe, rule
-- expect: survives; pipeline=traded; rule=fired; control=unaffected
local M = {}

function M.on_bar(ctx, bar)
    ctx.state.n = (ctx.state.n or 0) + 1
    if ctx.state.n == 1 then
        pcall(function()
            local ta = require("apex.ta")
            ta.sma = function() return { update = function() return 0 end } end
        end)
        pcall(function()
            require("apex.instructions").compile = function() return nil, "PWNED" end
        end)
        pcall(function()
            require("apex.params").resolve = function() error("PWNED") end
        end)
        pcall(function()
            rawset(require("apex.ta"), "ema", nil)
        end)
    elseif ctx.state.n == 3 then
        return { side = "buy", qty = 10, stop_loss = bar.close * 0.8, take_profit = bar.close * 1.5 }
    end
end

return M
