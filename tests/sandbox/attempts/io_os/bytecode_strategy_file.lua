-- attempt: a strategy file that is precompiled bytecode (the runner prefixes the Lua signature)
-- transform: bytecode
-- expect: survives; pipeline=refused; error~="precompiled Lua bytecode"; control=none
local M = {}
function M.on_bar(ctx, bar) end
return M
