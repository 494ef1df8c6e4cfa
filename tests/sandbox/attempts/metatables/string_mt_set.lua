-- attempt: replace the string metatable with setmetatable("", {...})
-- expect: survives; pipeline=failed; error~="bad argument #1 to 'setmetatable'"; at=@; control=unaffected
local M = {}

function M.on_bar(ctx, bar)
    setmetatable("", { __index = { upper = function() return "PWNED" end } }) -- @here
    error("ESCAPED: setmetatable on a string returned")
end

return M
