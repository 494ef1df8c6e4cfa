-- attempt: recursion until the Lua stack (or the memory cap) gives out, on each of the first 40 bars: each bar must fail promptly (the watchdog's cost must not grow with the depth)
-- expect: survives; pipeline=failed; error~="stack overflow|memory|deadline"; control=unaffected; wall<=40
local M = {}
local calls = 0

local function down(n)
    return 1 + down(n + 1)
end

function M.on_bar(ctx, bar)
    calls = calls + 1
    if calls <= 40 then
        down(1)
    end
end

return M
