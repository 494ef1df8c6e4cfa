-- attempt: a to-be-closed variable whose __close loops forever, on the first two bars
-- expect: survives; pipeline=failed; error~="script ran past its 250 ms deadline"; at=@; control=unaffected
local M = {}
local calls = 0

function M.on_bar(ctx, bar)
    calls = calls + 1
    if calls > 2 then
        return
    end
    local guard <close> = setmetatable({}, { __close = function()
        while true do end -- @here
    end })
    return nil
end

return M
