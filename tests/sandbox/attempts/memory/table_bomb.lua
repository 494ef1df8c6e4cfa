-- attempt: table bombs: an array grown until it cannot double (bar 1), a million small tables (bar 2)
-- expect: survives; pipeline=failed; error~="memory limit of 65536 KiB|not enough memory|deadline"; control=unaffected
local M = {}
local calls = 0

function M.on_bar(ctx, bar)
    calls = calls + 1
    if calls == 1 then
        local t = {}
        for i = 1, 1e9 do t[i] = i end
    elseif calls == 2 then
        local t = {}
        for i = 1, 1e9 do t[i] = { i } end
    end
end

return M
