-- attempt: print() 8 MB in one call, on 20 bars (160 MB of log if nothing caps it)
-- expect: survives; reached="PPPPPPPP"; control=unaffected; line<=2K
local M = {}
local calls = 0
local big = string.rep("P", 1 << 20)

function M.on_bar(ctx, bar)
    if #big < 8 << 20 then -- doubled a bar at a time; 8 MB keeps each doubling well inside the deadline under ASan
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
