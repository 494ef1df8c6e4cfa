-- attempt: suspended coroutines with looping __close kept until the host closes the state at exit
-- expect: survives; pipeline=clean; control=unaffected
local M = {}
local keep = {}

function M.on_bar(ctx, bar)
    if #keep < 10 then
        local co = coroutine.create(function()
            local cc <close> = setmetatable({}, { __close = function() while true do end end })
            coroutine.yield()
        end)
        coroutine.resume(co)
        keep[#keep + 1] = co
    end
end

return M
