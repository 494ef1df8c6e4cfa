-- attempt: return a signal table whose __index loops forever, so the host's own reading of the result runs the loop
-- expect: survives; pipeline=failed; error~="script ran past its 250 ms deadline"; at=@; control=unaffected
local M = {}
local calls = 0

function M.on_bar(ctx, bar)
    calls = calls + 1
    if calls <= 2 then
        return setmetatable({}, { __index = function()
            while true do end -- @here
        end })
    end
end

return M
