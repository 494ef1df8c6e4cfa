-- attempt: table.sort of 2M numbers (about a second in C, which no hook interrupts); a bounded sort fails on its own line, an unbounded one only after it returns
-- expect: survives; pipeline=failed; at=@; reached="ATTACK: sort"; control=unaffected
local M = {}
local N, SLICE = 2097152, 262144
local big, filled, sorts = {}, 0, 0

function M.on_bar(ctx, bar)
    if filled < N then -- 8 bars to fill it
        for i = filled + 1, filled + SLICE do big[i] = math.random() end
        filled = filled + SLICE
        return
    end
    sorts = sorts + 1
    if sorts <= 2 then
        print("ATTACK: sort of 2M numbers")
        table.sort(big) -- @here
        ctx.state.after = 1
        table.sort(big, nil) -- @here
        ctx.state.after = 2
        for i = 1, N, 2 do big[i] = math.random() end
    end
end

return M
