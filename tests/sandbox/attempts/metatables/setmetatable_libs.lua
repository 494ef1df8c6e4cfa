-- attempt: setmetatable on the string library proxy to make its lookups ours
-- expect: survives; pipeline=failed; error~="protected metatable"; at=@; control=unaffected
local M = {}

function M.on_bar(ctx, bar)
    for _, t in ipairs({ table, math, os, utf8, coroutine, apex, _ENV }) do
        if pcall(setmetatable, t, nil) then
            error("ESCAPED: setmetatable succeeded on a protected table")
        end
    end
    setmetatable(string, { __index = { format = function() return "PWNED" end } }) -- @here
end

return M
