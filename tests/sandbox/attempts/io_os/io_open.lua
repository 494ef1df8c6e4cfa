-- attempt: read /etc/passwd with io.open
-- expect: survives; pipeline=failed; error~="'io'"; at=@; control=unaffected
local M = {}

function M.on_bar(ctx, bar)
    local f = io.open("/etc/passwd") -- @here
    error("ESCAPED: io.open returned " .. tostring(f))
end

return M
