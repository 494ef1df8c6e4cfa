-- attempt: edge(), called by the exit engine at every monitoring check, loops forever on its first three calls
-- expect: survives; pipeline=traded; error~="script ran past its 250 ms deadline"; at=@; control=unaffected
local M = {}
local calls = 0

function M.on_bar(ctx, bar)
    ctx.state.n = (ctx.state.n or 0) + 1
    if ctx.state.n == 3 then
        return { side = "buy", qty = 10, stop_loss = bar.close * 0.8, take_profit = bar.close * 1.5 }
    end
end

function M.edge(ctx, position)
    calls = calls + 1
    if calls <= 3 then
        while true do end -- @here
    end
    return 0.5
end

return M
