-- attempt: coroutine.close on a suspended coroutine whose pending __close loops forever
-- expect: survives; pipeline=failed; error~="script ran past its 250 ms deadline"; control=unaffected
local M = {}
local calls = 0

function M.on_bar(ctx, bar)
    calls = calls + 1
    if calls > 2 then
        return
    end
    local co = coroutine.create(function()
        local cc <close> = setmetatable({}, { __close = function() while true do end end })
        coroutine.yield()
    end)
    coroutine.resume(co)
    coroutine.close(co)
end

return M
