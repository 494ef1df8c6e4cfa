-- attempt: in a live run, xpcall(loop, loop) (the message handler runs with hooks off); SIGINT must still stop the host
-- mode: sigint-run
-- expect: survives; exit=0; sigint<=15; control=alive
local M = {}
local calls = 0

local function loop()
    while true do end
end

function M.on_bar(ctx, bar)
    calls = calls + 1
    if calls == 3 then
        print("ATTACK: xpcall(loop, loop)")
        xpcall(loop, loop)
    end
end

return M
