-- attempt: in a live run, a pattern search that runs for hours in C; SIGINT must still stop the host
-- mode: sigint-run
-- expect: survives; exit=0; sigint<=15; control=alive
local M = {}
local calls = 0
local subject = string.rep("a", 1e5)

function M.on_bar(ctx, bar)
    calls = calls + 1
    if calls == 3 then
        print("ATTACK: string.find(string.rep('a', 1e5), '.-.-.-b')")
        string.find(subject, ".-.-.-b")
    end
end

return M
