-- attempt: string.rep bombs: a terabyte, 100 MB, and 3 x 30 MB kept (bars 1-3)
-- expect: survives; pipeline=failed; error~="memory limit of 65536 KiB"; control=unaffected
local M = {}
local calls, keep = 0, {}

function M.on_bar(ctx, bar)
    calls = calls + 1
    if calls == 1 then
        return string.rep("x", 1 << 40)
    elseif calls == 2 then
        return string.rep("abcd", 25e6, ",")
    elseif calls == 3 then
        for i = 1, 3 do keep[i] = string.rep(tostring(i), 30e6) end
    end
end

return M
