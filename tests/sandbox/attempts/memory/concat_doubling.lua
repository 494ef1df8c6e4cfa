-- attempt: s = s .. s until the memory cap (a string doubling bomb), on the first five bars
-- expect: survives; pipeline=failed; error~="memory limit of 65536 KiB|deadline"; control=unaffected
local M = {}
local calls = 0

function M.on_bar(ctx, bar)
    calls = calls + 1
    if calls > 5 then
        return
    end
    local s = "x"
    while true do s = s .. s end
end

return M
