-- attempt: getmetatable on every library, apex, _ENV and _G, then rewrite the __index it shows
-- expect: survives; pipeline=clean; control=unaffected
local M = {}

function M.on_bar(ctx, bar)
    local targets = { string = string, table = table, math = math, os = os, utf8 = utf8,
                      coroutine = coroutine, apex = apex, _ENV = _ENV, _G = _G }
    for name, t in pairs(targets) do
        local mt = getmetatable(t)
        if type(mt) == "table" then
            pcall(function() mt.__index = {} end)
            error("ESCAPED: getmetatable(" .. name .. ") returned its metatable")
        end
    end
end

return M
