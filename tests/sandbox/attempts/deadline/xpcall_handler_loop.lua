-- attempt: a message handler that loops forever on an ordinary error
-- expect: survives; pipeline=failed; error~="script ran past its 250 ms deadline"; at=@; control=unaffected
-- (the error names the handler's loop, or the statement right after xpcall returned: both are marked)
local M = {}
local calls = 0

function M.on_bar(ctx, bar)
    calls = calls + 1
    if calls <= 2 then
        xpcall(error, function(msg)
            while true do end -- @here
        end, "boom"); ctx.state.after = calls -- @here
    end
end

return M
