-- attempt: bytecode after a #! line (skipped as a comment) in the strategy file
-- transform: shebang-bytecode
-- expect: survives; pipeline=refused; error~="precompiled Lua bytecode"; control=none
local M = {}
function M.on_bar(ctx, bar) end
return M
