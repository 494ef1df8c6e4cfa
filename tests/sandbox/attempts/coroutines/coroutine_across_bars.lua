-- attempt: one coroutine resumed a slice at a time across bars, then left to spin (its hook must still be armed in later calls; the error may name the loop or the resume)
-- expect: survives; pipeline=failed; error~="script ran past its 250 ms deadline"; at=@; control=unaffected
local M = {}
local co

function M.on_bar(ctx, bar)
    co = co or coroutine.create(function()
        for i = 1, 5 do coroutine.yield(i) end
        while true do end -- @here
    end)
    if coroutine.status(co) == "suspended" then
        local ok, err = coroutine.resume(co) -- @here
        if not ok then error(err, 0) end -- @here
    end
end

return M
