-- attempt: in a live run, print 4 MB on every bar; SIGINT during the flood must stop the host promptly
-- mode: sigint-run
-- expect: survives; exit=0; sigint<=15; control=alive
local M = {}
local big = string.rep("F", 1 << 20)
local calls = 0

function M.on_bar(ctx, bar)
    calls = calls + 1
    if #big < 4 << 20 then
        local doubled = big .. big
        big = doubled
        return
    end
    if calls < 100 then
        print("ATTACK " .. big)
    end
end

return M
