-- attempt: load a binary chunk through a reader function that hands it over byte by byte
-- expect: survives; pipeline=clean; control=unaffected
local M = {}

local chunk = "\27LuaT\0\25\147\r\n\26\n\4\8\8" .. string.rep("\0", 64)

local function reader()
    local i = 0
    return function()
        i = i + 1
        if i <= #chunk then
            return chunk:sub(i, i)
        end
    end
end

function M.on_bar(ctx, bar)
    for _, mode in ipairs({ false, "b", "bt" }) do
        local ok, f = pcall(load, reader(), "=reader", mode or nil)
        if ok and type(f) == "function" then
            error("ESCAPED: load of a binary chunk by a reader in mode " .. tostring(mode))
        end
    end
end

return M
