-- attempt: finalizers that resurrect their object and re-register it, on every collection
-- expect: survives; pipeline=failed; error~="__gc"; at=@; control=unaffected
local M = {}
local saved = {}

local mt = {}
mt.__gc = function(o)
    saved[#saved + 1] = o -- resurrected
    setmetatable(o, mt)   -- and finalized again next time
    for i = 1, 1000 do saved[#saved + 1] = {} end
end

function M.on_bar(ctx, bar)
    for i = 1, 100 do
        setmetatable({}, mt) -- @here
    end
    collectgarbage("collect")
end

return M
