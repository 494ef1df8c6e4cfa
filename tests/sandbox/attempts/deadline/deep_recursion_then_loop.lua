-- attempt: 50,000 frames deep, then an endless loop at the bottom (the deadline trips with a deep stack to unwind; on a slow machine it may trip on the way down)
-- expect: survives; pipeline=failed; error~="script ran past its 250 ms deadline"; at=@; control=unaffected
local M = {}
local calls = 0

local function down(n)
    if n == 0 then -- @here
        while true do end -- @here
    end
    return 1 + down(n - 1) -- @here
end

function M.on_bar(ctx, bar)
    calls = calls + 1
    if calls <= 2 then
        down(50000)
    end
end

return M
