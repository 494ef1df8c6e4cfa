-- attempt: resume, close and wrap the running (main) thread; resume dead and running coroutines; status of everything
-- expect: survives; pipeline=clean; control=unaffected
local M = {}

function M.on_bar(ctx, bar)
    local main, ismain = coroutine.running()
    assert(ismain and type(main) == "thread")
    pcall(coroutine.resume, main)
    pcall(coroutine.close, main)
    pcall(coroutine.status, main)
    local co
    co = coroutine.create(function()
        pcall(coroutine.resume, co)   -- itself, running
        pcall(coroutine.close, co)
        pcall(coroutine.resume, main) -- its resumer, normal
        pcall(coroutine.close, main)
        return 1
    end)
    assert(coroutine.resume(co))
    pcall(coroutine.resume, co) -- dead
    assert(coroutine.close(co))
    pcall(coroutine.wrap(function() end))
    assert(coroutine.isyieldable() == false)
end

return M
