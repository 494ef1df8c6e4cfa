-- attempt: the nested coroutine.close chain again, 15,000 deep (built 1,500 a bar), each __close closing the previous one under pcall, the last closed from inside a coroutine
-- expect: survives; reached="ATTACK: close"; control=unaffected
local M = {}
local coro, built = false, 0

local function add()
    local previous = coro
    coro = coroutine.create(function()
        local cc <close> = setmetatable({}, { __close = function()
            if previous then
                local ok, err = pcall(coroutine.close, previous)
                if not ok then error(err, 0) end
            end
        end })
        coroutine.yield()
    end)
    coroutine.resume(coro)
    built = built + 1
end

function M.on_bar(ctx, bar)
    if built < 15000 then
        for i = 1, 1500 do add() end
    elseif coro then
        print("ATTACK: close the last of 15000")
        local last = coro
        coro = false
        coroutine.wrap(function()
            local ok, err = coroutine.close(last)
            if not ok then error(err, 0) end
        end)()
    end
end

return M
