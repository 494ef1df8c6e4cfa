-- attempt: getmetatable(_ENV) to reach the safe globals table behind every module's environment, then write to it
-- expect: survives; pipeline=clean; control=unaffected
local M = {}

function M.on_bar(ctx, bar)
    local mt = getmetatable(_ENV)
    if type(mt) == "table" then
        pcall(function() mt.__index.print = function() end end)
        error("ESCAPED: getmetatable(_ENV) returned " .. tostring(mt))
    end
    local ok = pcall(setmetatable, _ENV, { __index = function() return "PWNED" end })
    if ok then
        error("ESCAPED: setmetatable(_ENV, ...) succeeded")
    end
end

return M
