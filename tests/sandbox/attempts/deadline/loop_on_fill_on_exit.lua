-- attempt: on_fill and on_exit loop forever (the entry fill, then the close by the instruction rule)
-- with: rule
-- expect: survives; pipeline=traded; rule=fired; error~="script ran past its 250 ms deadline"; at=@; control=unaffected
local M = {}

function M.on_bar(ctx, bar)
    ctx.state.n = (ctx.state.n or 0) + 1
    if ctx.state.n == 3 then
        return { side = "buy", qty = 10, stop_loss = bar.close * 0.8, take_profit = bar.close * 1.5 }
    end
end

function M.on_fill(ctx, fill)
    while true do end -- @here
end

function M.on_exit(ctx, info)
    while true do end -- @here
end

return M
