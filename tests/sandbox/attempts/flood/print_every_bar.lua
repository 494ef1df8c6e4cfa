-- attempt: print a short line on every bar, and 200 lines per bar (24,000 lines in all)
-- expect: survives; pipeline=clean; control=unaffected; line<=2K
local M = {}

function M.on_bar(ctx, bar)
    print("bar", bar.time, bar.close)
    for i = 1, 200 do
        print("line", i, "of bar", bar.time, string.rep("-", 60))
    end
end

return M
