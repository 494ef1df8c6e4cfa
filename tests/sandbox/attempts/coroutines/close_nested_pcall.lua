-- attempt: the nested coroutine.close chain again, 15,000 deep (built 3,000 a bar), each __close closing the previous one under pcall, the last closed from inside a coroutine
-- expect: survives; control=unaffected
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
        for i = 1, 3000 do add() end
    elseif coro then
        local last = coro
        coro = false
        coroutine.wrap(function()
            local ok, err = coroutine.close(last)
            if not ok then error(err, 0) end
        end)()
    end
end

return M
