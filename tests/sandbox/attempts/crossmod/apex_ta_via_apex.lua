-- attempt: rewrite apex.ta (the same table as require("apex.ta")) through the apex global, and plant a global for the other modules
-- with: probe, rule
-- expect: survives; pipeline=traded; rule=fired; control=unaffected
local M = {}

function M.on_bar(ctx, bar)
    ctx.state.n = (ctx.state.n or 0) + 1
    if ctx.state.n == 1 then
        pcall(function() apex.ta.sma = function() error("PWNED") end end)
        pcall(function() apex.ta = {} end)
        pcall(function() rawset(apex, "ta", {}) end)
        PWNED = true -- a global: it must stay in this module's own environment
        pcall(function() _G.PWNED = true end)
        pcall(function() rawset(_G, "PWNED", true) end)
    elseif ctx.state.n == 3 then
        return { side = "buy", qty = 10, stop_loss = bar.close * 0.8, take_profit = bar.close * 1.5 }
    end
end

return M
