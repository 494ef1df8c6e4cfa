-- attempt: swallow the deadline error: pcall around an endless loop, itself in an endless loop
-- expect: survives; pipeline=failed; error~="script ran past its 250 ms deadline"; at=@; control=unaffected
local M = {}
local calls = 0

function M.on_bar(ctx, bar)
    calls = calls + 1
    if calls > 2 then
        return
    end
    while true do -- @here
        pcall(function() while true do end end) -- @here
    end
end

return M
