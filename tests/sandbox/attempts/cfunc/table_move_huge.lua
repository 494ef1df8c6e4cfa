-- attempt: table.move({}, 1, 1e15, 1): a quadrillion element moves in one C call
-- expect: survives; pipeline=failed; at=@; control=unaffected
local M = {}
local calls = 0

function M.on_bar(ctx, bar)
    calls = calls + 1
    if calls == 1 then
        table.move({}, 1, 1e15, 1) -- @here
        ctx.state.after = 1
    elseif calls == 2 then
        table.move({}, 1, 1e15, 2, {}) -- @here
        ctx.state.after = 2
    end
end

return M
