-- attempt: end the host process with os.exit (exit code 3 if it worked)
-- expect: survives; exit=0; pipeline=failed; error~="exit"; at=@; control=unaffected
local M = {}

function M.on_bar(ctx, bar)
    os.exit(3, true) -- @here
end

return M
