-- attempt: a signal with qty = 4e-9, which rounds to zero units at the boundary (a trade nobody asked for, or a division by zero)
-- expect: survives; pipeline=failed; error~="qty"; at=@; control=unaffected
local M = {}

function M.on_bar(ctx, bar) -- @here
    ctx.state.n = (ctx.state.n or 0) + 1
    if ctx.state.n == 3 then
        return { side = "buy", qty = 4e-9, stop_loss = bar.close * 0.8, take_profit = bar.close * 1.5 }
    end
end

return M
