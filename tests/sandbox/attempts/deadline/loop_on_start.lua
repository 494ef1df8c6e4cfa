-- attempt: an endless loop in on_start (run lazily before the first on_bar of the symbol), the first two times
-- expect: survives; pipeline=failed; error~="script ran past its 250 ms deadline"; at=@; control=unaffected
local M = {}
local calls = 0

function M.on_start(ctx)
    calls = calls + 1
    if calls <= 2 then
        while true do end -- @here
    end
end

function M.on_bar(ctx, bar) end

return M
