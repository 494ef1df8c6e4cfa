-- attempt: ctx.log and apex.log floods: 1 MB lines, and 500 lines per bar
-- expect: survives; control=unaffected; line<=2K
local M = {}
local mb = string.rep("L", 1 << 20)

function M.on_bar(ctx, bar)
    for i = 1, 3 do
        ctx.log("%s %d", mb, i)
        apex.log("%s %d", mb, i)
    end
    for i = 1, 250 do
        ctx.log("flood %d of bar %d: %s", i, bar.time, string.rep("~", 80))
        apex.log("flood %d of bar %d: %s", i, bar.time, string.rep("~", 80))
    end
end

return M
