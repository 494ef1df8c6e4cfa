-- attempt: yield where it cannot go: from on_bar itself, across table.sort's C call, and from a metamethod the host runs while reading the result
-- expect: survives; pipeline=failed; error~="yield"; at=@; control=unaffected
local M = {}
local calls = 0

function M.on_bar(ctx, bar)
    calls = calls + 1
    -- a yield across pcall inside a coroutine is fine in Lua 5.4
    local co = coroutine.wrap(function() return pcall(coroutine.yield, "across pcall") end)
    assert(co() == "across pcall")
    if calls == 1 then
        coroutine.yield("from on_bar") -- @here
    elseif calls == 2 then
        coroutine.wrap(function()
            table.sort({ 3, 2, 1 }, function(a, b) coroutine.yield() return a < b end) -- @here
        end)()
    elseif calls == 3 then
        return setmetatable({}, { __index = function() coroutine.yield() end }) -- @here
    end
end

return M
