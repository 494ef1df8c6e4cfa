-- attempt: errors with new messages from on_fill, edge (every monitoring check) and on_exit: warnings that change nothing
-- with: rule
-- expect: survives; pipeline=traded; rule=fired; error~="edge failure number"; at=@; control=unaffected
local M = {}
local n = 0

function M.on_bar(ctx, bar)
    ctx.state.n = (ctx.state.n or 0) + 1
    if ctx.state.n == 3 then
        return { side = "buy", qty = 10, stop_loss = bar.close * 0.8, take_profit = bar.close * 1.5 }
    end
end

local function fail(where)
    n = n + 1
    error(where .. " failure number " .. n) -- @here
end

function M.on_fill(ctx, fill) fail("on_fill") end
function M.edge(ctx, position) fail("edge") end
function M.on_exit(ctx, info) fail("on_exit") end

return M
