-- attempt: an endless loop in on_bar on the first three bars
-- expect: survives; pipeline=failed; error~="script ran past its 250 ms deadline"; at=@; control=unaffected
local M = {}
local calls = 0

function M.on_bar(ctx, bar)
    calls = calls + 1
    if calls <= 3 then
        while true do end -- @here
    end
end

return M
