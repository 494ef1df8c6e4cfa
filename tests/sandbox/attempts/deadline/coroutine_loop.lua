-- attempt: an endless loop inside a coroutine (the watchdog cannot see coroutines)
-- expect: survives; pipeline=failed; error~="script ran past its 250 ms deadline"; at=@; control=unaffected
local M = {}
local calls = 0

function M.on_bar(ctx, bar)
    calls = calls + 1
    if calls <= 2 then
        coroutine.wrap(function()
            while true do end -- @here
        end)()
    end
end

return M
