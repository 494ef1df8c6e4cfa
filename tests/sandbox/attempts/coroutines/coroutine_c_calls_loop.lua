-- attempt: in a coroutine, a loop of C calls that each take milliseconds (upper/lower of an 8 MB string): the coroutine's hook looks at the clock only every 1000 instructions, about 100 such calls
-- expect: survives; pipeline=failed; error~="deadline"; reached="ATTACK: upper"; control=unaffected
local M = {}
local s = string.rep("abcdefgh", 1 << 17) -- 1 MB
local runs = 0

function M.on_bar(ctx, bar)
    if #s < 8 << 20 then -- doubled a bar at a time (a failed step is retried)
        local doubled = s .. s
        s = doubled
        return
    end
    runs = runs + 1
    if runs <= 2 then
        print("ATTACK: upper/lower of 8 MB in a coroutine loop")
        coroutine.wrap(function()
            local t0 = os.clock()
            while true do
                local u = s:upper():lower()
                local dt = os.clock() - t0
                if dt > 1.0 then
                    error(string.format("UNBOUNDED: a coroutine ran %.2f s of CPU past a 250 ms deadline", dt), 0)
                end
            end
        end)()
    end
end

return M
