-- attempt: take the string metatable with getmetatable("") and point its __index at our own table
-- expect: survives; pipeline=clean; control=unaffected
local M = {}

function M.on_bar(ctx, bar)
    for _, s in ipairs({ "", "abc", bar.symbol }) do
        local mt = getmetatable(s)
        if type(mt) == "table" then
            pcall(function() mt.__index = { upper = function() return "PWNED" end } end)
            error("ESCAPED: getmetatable('" .. s .. "') returned the string metatable")
        end
    end
    assert(("abc"):upper() == "ABC")
end

return M
