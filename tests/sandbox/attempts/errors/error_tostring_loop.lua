-- attempt: raise an error object (a table) whose __tostring loops forever, from on_bar and from edge()
-- expect: survives; pipeline=failed; error~="error object is a table value"; at=@; control=unaffected
local M = {}
local evil = setmetatable({}, { __tostring = function() while true do end end, __name = "evil" })

function M.on_bar(ctx, bar)
    ctx.state.n = (ctx.state.n or 0) + 1
    if ctx.state.n == 3 then
        return { side = "buy", qty = 10, stop_loss = bar.close * 0.8, take_profit = bar.close * 1.5 }
    end
    if ctx.state.n > 3 then
        error(evil) -- @here
    end
end

function M.edge(ctx, position)
    error(evil)
end

return M
