-- attempt: string.find(string.rep("a", 1e5), ".-.-.-b"): backtracking in C, cubic in the subject's length, where no hook runs
-- expect: survives; pipeline=failed; at=@; control=unaffected
local M = {}
local calls = 0
local subject = string.rep("a", 1e5)

function M.on_bar(ctx, bar)
    calls = calls + 1
    if calls <= 2 then
        string.find(subject, ".-.-.-b") -- @here
        ctx.state.after = calls -- an unbounded find only fails here, on its way out
    end
end

return M
