-- attempt: setmetatable on this module's globals to shadow the libraries for other modules, and on the apex global
-- with: probe
-- expect: survives; pipeline=traded; control=unaffected
local M = {}

function M.on_bar(ctx, bar)
    ctx.state.n = (ctx.state.n or 0) + 1
    if ctx.state.n == 1 then
        pcall(setmetatable, _G, { __index = function() return function() return "PWNED" end end })
        pcall(setmetatable, apex, {})
        pcall(setmetatable, string, {})
        string = { format = function() return "PWNED" end } -- this module's own global
    elseif ctx.state.n == 3 then
        return { side = "buy", qty = 10, stop_loss = bar.close * 0.8, take_profit = bar.close * 1.5 }
    end
end

return M
