-- attempt: print() 16 MB in one call, on 20 bars (320 MB of log if nothing caps it)
-- expect: survives; reached="PPPPPPPP"; control=unaffected; line<=2K
local M = {}
local calls = 0
local big = string.rep("P", 1 << 20)

function M.on_bar(ctx, bar)
    if #big < 16 << 20 then -- doubled a bar at a time (a failed step is retried)
        local doubled = big .. big
        big = doubled
        return
    end
    calls = calls + 1
    if calls <= 20 then
        print(big)
    end
end

return M
