-- attempt: run a shell command with os.execute
-- expect: survives; pipeline=failed; error~="execute"; at=@; absent=pwned_exec; control=unaffected
local M = {}

function M.on_bar(ctx, bar)
    os.execute("touch pwned_exec") -- @here
    error("ESCAPED: os.execute ran")
end

return M
