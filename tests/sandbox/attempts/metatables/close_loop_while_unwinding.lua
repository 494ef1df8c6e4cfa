-- attempt: the body overruns, and each of 50 to-be-closed variables loops again while the deadline error unwinds
-- expect: survives; pipeline=failed; error~="script ran past its 250 ms deadline"; at=@; control=unaffected
local M = {}
local calls = 0
local looping = { __close = function() while true do end end } -- @here

local function nest(n)
    local guard <close> = setmetatable({}, looping)
    if n > 0 then
        return nest(n - 1)
    end
    while true do end -- @here
end

function M.on_bar(ctx, bar)
    calls = calls + 1
    if calls <= 2 then
        nest(50)
    end
end

return M
