-- attempt: catastrophic backtracking through gsub (every start position) and a gmatch iterator
-- expect: survives; pipeline=failed; at=@; control=unaffected
local M = {}
local calls = 0
local subject = string.rep("a", 1e4)

function M.on_bar(ctx, bar)
    calls = calls + 1
    if calls == 1 then
        string.gsub(subject, "a-a-a-a-b", "") -- @here
        ctx.state.after = calls
    elseif calls == 2 then
        for m in string.gmatch(subject, "(.-)(.-)(.-)b") do -- @here
            ctx.state.after = m
        end
        ctx.state.after = calls
    end
end

return M
