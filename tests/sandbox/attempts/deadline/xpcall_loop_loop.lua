-- attempt: xpcall(loop, loop): after the deadline trips, Lua runs the message handler with hooks off
-- expect: survives; pipeline=failed; error~="script ran past its 250 ms deadline"; at=@; control=unaffected
-- (the error names the loop, or the statement right after xpcall returned: both are marked)
local M = {}
local calls = 0

local function loop()
    while true do end -- @here
end

function M.on_bar(ctx, bar)
    calls = calls + 1
    if calls <= 2 then
        xpcall(loop, loop); ctx.state.after = calls -- @here
    end
end

return M
