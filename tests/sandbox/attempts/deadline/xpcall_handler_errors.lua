-- attempt: a message handler that raises again (error in error handling), in an endless loop
-- expect: survives; pipeline=failed; error~="script ran past its 250 ms deadline"; at=@; control=unaffected
local M = {}
local calls = 0

local function rethrow(msg)
    error(msg, 0)
end

function M.on_bar(ctx, bar)
    calls = calls + 1
    if calls > 2 then
        return
    end
    while true do -- @here
        xpcall(function() error({}) end, rethrow) -- @here
    end
end

return M
