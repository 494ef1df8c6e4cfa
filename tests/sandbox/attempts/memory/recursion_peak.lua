-- attempt: deep recursion where every frame holds a 2 KB table (the memory peak of a deep stack)
-- expect: survives; pipeline=failed; error~="memory limit of 65536 KiB|not enough memory|stack overflow|deadline"; control=unaffected
local M = {}
local calls = 0

local function down(n)
    local t = { n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n }
    for i = 17, 128 do t[i] = n end
    return down(n + 1) + #t
end

function M.on_bar(ctx, bar)
    calls = calls + 1
    if calls <= 3 then
        down(1)
    end
end

return M
