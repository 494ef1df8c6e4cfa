-- attempt: run another file with dofile (loadfile too)
-- expect: survives; pipeline=failed; error~="dofile"; at=@; control=unaffected
local M = {}

function M.on_bar(ctx, bar)
    local ok = pcall(function() return loadfile("control_strategy.lua") end)
    local m = dofile("control_strategy.lua") -- @here
    error("ESCAPED: dofile gave " .. tostring(m) .. " " .. tostring(ok))
end

return M
