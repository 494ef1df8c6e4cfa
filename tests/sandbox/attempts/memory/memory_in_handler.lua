-- attempt: a message handler that allocates without bound, rethrown
-- expect: survives; pipeline=failed; error~="not enough memory|error in error handling|C stack overflow|deadline"; control=unaffected
local M = {}
local calls = 0

local function greedy(msg)
    local t = {}
    while true do t[#t + 1] = string.rep("z", 1 << 20) .. #t end
end

function M.on_bar(ctx, bar)
    calls = calls + 1
    if calls <= 2 then
        local ok, e = xpcall(error, greedy, "boom")
        error(e, 0)
    end
end

return M
