-- attempt: in a backtest, overrun the deadline on every bar; SIGINT must stop it with exit code 5 and the store marked interrupted
-- mode: sigint-backtest
-- expect: survives; exit=5; sigint<=15; pipeline=failed; error~="script ran past its 250 ms deadline"
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
