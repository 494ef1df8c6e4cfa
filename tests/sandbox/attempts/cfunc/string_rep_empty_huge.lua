-- attempt: string.rep("", 1e15): nothing to build, but Lua 5.4 still loops 1e15 times copying zero bytes
-- (the sandbox's string.rep returns "" at once, as the result is "": the script goes on)
-- expect: survives; pipeline=clean; control=unaffected
local M = {}
local calls = 0

function M.on_bar(ctx, bar)
    calls = calls + 1
    if calls == 1 then
        string.rep("", 1e15) -- @here
        ctx.state.after = 1
    elseif calls == 2 then
        string.rep("", 1e15, "") -- @here
        ctx.state.after = 2
    end
end

return M
