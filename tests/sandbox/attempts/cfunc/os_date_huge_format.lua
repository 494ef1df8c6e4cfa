-- attempt: os.date with an 8 MB format (four million strftime calls in one C call), again and again
-- expect: survives; pipeline=failed; at=@; reached="ATTACK: os.date"; control=unaffected
local M = {}
local fmt = string.rep("%%", 1 << 19)
local dates = 0

function M.on_bar(ctx, bar)
    if #fmt < 8 << 20 then -- doubled a bar at a time (a failed step is retried)
        local doubled = fmt .. fmt
        fmt = doubled
        return
    end
    dates = dates + 1
    if dates <= 2 then
        print("ATTACK: os.date with an 8 MB format")
        for i = 1, 20 do
            os.date(fmt) -- @here
        end
        ctx.state.after = dates -- an unbounded os.date fails only here, or on the loop
    end
end

return M
