-- attempt: mark an object for finalization with a harmless __gc, then swap in a looping one
-- expect: survives; control=unaffected
local M = {}
local keep = {}

function M.on_bar(ctx, bar)
    if #keep > 0 then
        keep = {}
        collectgarbage("collect")
        return
    end
    local mt = {}
    pcall(function()
        mt.__gc = true -- any value marks the object when the metatable is set
        keep[1] = setmetatable({}, mt)
    end)
    pcall(function()
        local mt2 = { __gc = function() end }
        keep[2] = setmetatable({}, mt2)
        mt2.__gc = function() while true do end end
    end)
    mt.__gc = function() while true do end end
end

return M
