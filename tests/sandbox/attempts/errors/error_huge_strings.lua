-- attempt: errors carrying 8 MB strings, a different one on each of five bars (the store and the log must not receive them whole)
-- expect: survives; pipeline=failed; at=@; reached="ATTACK: error"; control=unaffected
local M = {}
local errors = 0
local big = string.rep("E", 1 << 20)

function M.on_bar(ctx, bar)
    if #big < 8 << 20 then -- doubled a bar at a time (a failed step is retried)
        local doubled = big .. big
        big = doubled
        return
    end
    errors = errors + 1
    if errors <= 5 then
        print("ATTACK: error with 8 MB")
        error(big .. errors) -- @here
    end
end

return M
