-- attempt: 15,000 suspended coroutines, each with a to-be-closed variable whose __close closes the previous one (built 1,500 a bar), then close the last (Lua 5.4.4 overflows the C stack and crashes)
-- expect: survives; reached="ATTACK: close"; control=unaffected
local M = {}
local coro, built = false, 0

local function add()
    local previous = coro
    coro = coroutine.create(function()
        local cc <close> = setmetatable({}, { __close = function()
            if previous then
                assert(coroutine.close(previous))
            end
        end })
        coroutine.yield()
    end)
    assert(coroutine.resume(coro))
    built = built + 1
end

function M.on_bar(ctx, bar)
    if built < 15000 then
        for i = 1, 1500 do add() end
    elseif coro then
        print("ATTACK: close the last of 15000")
        local last = coro
        coro = false
        assert(coroutine.close(last))
    end
end

return M
