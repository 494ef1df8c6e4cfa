-- attempt: assign string.format (the library proxies' __newindex)
-- expect: survives; pipeline=failed; error~="attempt to modify read-only table 'string'"; at=@; control=unaffected
local M = {}

function M.on_bar(ctx, bar)
    for _, lib in ipairs({ "table", "math", "os", "utf8", "coroutine", "apex" }) do
        if pcall(function() _ENV[lib].PWNED = true end) then
            error("ESCAPED: " .. lib .. " accepted a new field")
        end
    end
    string.format = function() return "PWNED" end -- @here
end

return M
