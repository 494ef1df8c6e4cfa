-- attempt: a looping __gc on an object kept alive until the host closes the Lua state at exit
-- expect: survives; pipeline=failed; error~="__gc"; at=@; control=unaffected
local M = {}
local keep = {}

function M.on_bar(ctx, bar)
    if #keep == 0 then
        keep[1] = setmetatable({}, { __gc = function() while true do end end }) -- @here
    end
end

return M
