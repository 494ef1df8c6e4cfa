-- attempt: a global set here (and through _G, rawset, a load without env) must not reach the bias module's globals
-- with: probe
-- expect: survives; pipeline=traded; control=unaffected
PWNED = true
_G.PWNED = true
rawset(_G, "PWNED", true)
load("PWNED = true")()
print = function() error("PWNED print") end -- this module's own print

local M = {}

function M.on_bar(ctx, bar)
    ctx.state.n = (ctx.state.n or 0) + 1
    if ctx.state.n == 3 then
        return { side = "buy", qty = 10, stop_loss = bar.close * 0.8, take_profit = bar.close * 1.5 }
    end
end

return M
