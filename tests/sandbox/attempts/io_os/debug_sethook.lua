-- attempt: remove the deadline's hook with debug.sethook (by every path), then loop forever
-- expect: survives; pipeline=failed; error~="script ran past its 250 ms deadline"; at=@; control=unaffected
local M = {}
local calls = 0

function M.on_bar(ctx, bar)
    calls = calls + 1
    if calls > 2 then
        return
    end
    pcall(function() debug.sethook() end)
    pcall(function() _G.debug.sethook() end)
    pcall(function() require("debug").sethook() end)
    while true do end -- @here
end

return M
