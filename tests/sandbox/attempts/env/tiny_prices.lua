-- attempt: signals with a stop of 4e-9 and an entry of 1e-9 (both round to zero: a stop that silently falls back to the default)
-- expect: survives; pipeline=failed; error~="stop_loss"; error~="entry"; at=@; control=unaffected
local M = {}

function M.on_bar(ctx, bar) -- @here
    ctx.state.n = (ctx.state.n or 0) + 1
    if ctx.state.n == 3 then
        return { side = "buy", qty = 10, stop_loss = 4e-9, take_profit = bar.close * 1.5 }
    elseif ctx.state.n == 4 then
        return { side = "buy", qty = 10, entry = 1e-9 }
    end
end

return M
