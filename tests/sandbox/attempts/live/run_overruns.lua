-- attempt: in a live run, overrun the deadline on the first five bars; the run must carry on and end by itself at the end of the data
-- mode: run
-- expect: survives; exit=0; pipeline=failed; error~="script ran past its 250 ms deadline"; at=@; control=alive
local M = {}
local calls = 0

function M.on_bar(ctx, bar)
    calls = calls + 1
    if calls <= 5 then
        while true do end -- @here
    end
end

return M
