-- attempt: load a C function from libc with package.loadlib
-- expect: survives; pipeline=failed; error~="'package'"; at=@; control=unaffected
local M = {}

function M.on_bar(ctx, bar)
    local system = package.loadlib("libc.so.6", "system") -- @here
    error("ESCAPED: package.loadlib gave " .. tostring(system))
end

return M
