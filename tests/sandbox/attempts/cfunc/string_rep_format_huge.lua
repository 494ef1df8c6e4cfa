-- attempt: string.rep of huge results (2^40 pieces with a separator, a terabyte of copies) and string.format with a huge width
-- expect: survives; pipeline=failed; error~="memory|too large|invalid conversion"; control=unaffected
local M = {}
local calls = 0

function M.on_bar(ctx, bar)
    calls = calls + 1
    if calls == 1 then
        string.rep("ab", 2^40, ",")
    elseif calls == 2 then
        string.rep(string.rep("x", 1e6), 1e6)
    elseif calls == 3 then
        string.format("%099999999d", 1)
    end
end

return M
