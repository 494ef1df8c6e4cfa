-- attempt: a memory bomb inside a coroutine (bar 1), and a million coroutines (bar 2)
-- expect: survives; pipeline=failed; error~="not enough memory|deadline"; control=unaffected
local M = {}
local calls = 0

function M.on_bar(ctx, bar)
    calls = calls + 1
    if calls == 1 then
        coroutine.wrap(function()
            local t = {}
            while true do t[#t + 1] = string.rep("y", 1 << 20) .. #t end
        end)()
    elseif calls == 2 then
        local all = {}
        for i = 1, 1e6 do
            all[i] = coroutine.create(function() end)
            coroutine.resume(all[i])
        end
    end
end

return M
