-- attempt: a __gc finalizer that loops forever (finalizers run with hooks off), then a collection
-- expect: survives; pipeline=failed; error~="__gc"; at=@; control=unaffected
local M = {}

function M.on_bar(ctx, bar)
    setmetatable({}, { __gc = function() while true do end end }) -- @here
    collectgarbage("collect")
end

return M
