-- attempt: in a live run, keep an object with a looping __gc, which runs when the host closes the Lua state on the way out after SIGINT
-- mode: sigint-run
-- expect: survives; exit=0; sigint<=15; control=alive
local M = {}
local keep = {}
local calls = 0

function M.on_bar(ctx, bar)
    calls = calls + 1
    if calls == 3 then
        pcall(function() keep[1] = setmetatable({}, { __gc = function() while true do end end }) end)
        print("ATTACK: a looping finalizer is waiting for the exit")
    end
end

return M
