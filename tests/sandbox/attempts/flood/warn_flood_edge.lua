-- attempt: edge() failing with a 60 KB message at every monitoring check (a warning line each)
-- expect: survives; pipeline=traded; control=unaffected
local M = {}
local n = 0
local filler = string.rep("w", 60000)

function M.on_bar(ctx, bar)
    ctx.state.n = (ctx.state.n or 0) + 1
    if ctx.state.n == 3 then
        return { side = "buy", qty = 10, stop_loss = bar.close * 0.8, take_profit = bar.close * 1.5 }
    end
end

function M.edge(ctx, position)
    n = n + 1
    error(n .. filler)
end

return M
