-- attempt: rawset around the proxies' __newindex
-- expect: survives; pipeline=failed; error~="read-only"; at=@; control=unaffected
local M = {}

function M.on_bar(ctx, bar)
    for _, lib in ipairs({ "table", "math", "os", "utf8", "coroutine", "apex" }) do
        if pcall(rawset, _ENV[lib], "PWNED", true) then
            error("ESCAPED: rawset on " .. lib .. " went through")
        end
    end
    rawset(string, "format", function() return "PWNED" end) -- @here
end

return M
