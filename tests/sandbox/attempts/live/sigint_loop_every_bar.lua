-- attempt: in a live run (--speed 600), overrun the deadline on every bar; SIGINT during the attack must still stop the host promptly
-- mode: sigint-run
-- expect: survives; exit=0; sigint<=15; pipeline=failed; error~="script ran past its 250 ms deadline"; control=alive
local M = {}
local calls = 0

function M.on_bar(ctx, bar)
    calls = calls + 1
    if calls == 3 then
        print("ATTACK: looping on every bar from now on")
    end
    if calls >= 3 then
        while true do end
    end
end

return M
