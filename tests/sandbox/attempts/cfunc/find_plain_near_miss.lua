-- attempt: a plain find of a 100 KB needle that almost matches everywhere in an 8 MB haystack (a naive search: about 8e11 byte compares, a minute or more per call; a linear one: milliseconds)
-- expect: survives; reached="ATTACK: plain find"; control=unaffected; wall<=20
local M = {}
local haystack = string.rep("a", 1 << 20)
local needle = string.rep("a", 1e5) .. "b"
local finds = 0

function M.on_bar(ctx, bar)
    if #haystack < 8 << 20 then -- doubled a bar at a time; 8 MB keeps each doubling well inside the deadline under ASan
        local doubled = haystack .. haystack
        haystack = doubled
        return
    end
    finds = finds + 1
    if finds <= 2 then
        print("ATTACK: plain find of a near miss")
        for i = 1, 3 do
            string.find(haystack, needle, 1, true)
        end
        ctx.state.after = finds
    end
end

return M
