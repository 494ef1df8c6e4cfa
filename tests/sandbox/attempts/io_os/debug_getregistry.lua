-- attempt: get the registry (and with it the real globals) through debug.getregistry
-- expect: survives; pipeline=failed; error~="'debug'"; at=@; control=unaffected
local M = {}

function M.on_bar(ctx, bar)
    local reg = debug.getregistry() -- @here
    error("ESCAPED: the registry " .. tostring(reg))
end

return M
