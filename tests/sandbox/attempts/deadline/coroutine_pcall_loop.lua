-- attempt: inside a coroutine, pcall around an endless loop, in an endless loop; then resume fresh coroutines forever
-- expect: survives; pipeline=failed; error~="script ran past its 250 ms deadline"; at=@; control=unaffected
local M = {}
local calls = 0

function M.on_bar(ctx, bar)
    calls = calls + 1
    if calls == 1 then
        local co = coroutine.create(function()
            while true do -- @here
                pcall(function() while true do end end) -- @here
            end
        end)
        coroutine.resume(co)
        while true do end -- @here
    elseif calls == 2 then
        while true do -- @here
            coroutine.resume(coroutine.create(function() while true do end end)) -- @here
        end
    end
end

return M
