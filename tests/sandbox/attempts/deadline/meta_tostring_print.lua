-- attempt: print() and ctx.log() a value whose __tostring loops forever (the host converts it)
-- expect: survives; pipeline=failed; error~="script ran past its 250 ms deadline"; at=@; control=unaffected
local M = {}
local calls = 0
local evil = setmetatable({}, { __tostring = function()
    while true do end -- @here
end })

function M.on_bar(ctx, bar)
    calls = calls + 1
    if calls == 1 then
        print("value", evil)
    elseif calls == 2 then
        ctx.log("%s", evil)
    end
end

return M
