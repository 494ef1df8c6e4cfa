-- attempt: string.match with captures and back-references that backtrack without end
-- expect: survives; pipeline=failed; at=@; control=unaffected
local M = {}
local calls = 0
local subject = string.rep("a", 3e4)

function M.on_bar(ctx, bar)
    calls = calls + 1
    if calls <= 2 then
        string.match(subject, "^(.-)%1(.-)%2(.-)%3x") -- @here
        ctx.state.after = calls
    end
end

return M
