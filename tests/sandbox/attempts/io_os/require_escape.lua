-- attempt: require standard libraries, C modules and paths outside the embedded modules
-- expect: survives; pipeline=clean; control=unaffected
local M = {}

local names = { "io", "os", "debug", "package", "string", "_G", "coroutine", "socket", "lfs",
                "ffi", "posix", "/etc/passwd", "../../../../etc/passwd", "apex/../../etc/passwd",
                "apex.ta/../instructions", "apex.", "apex", "lua/apex/ta", 
                "luac", "apex.TA", "apex.ta.lua" }

function M.on_bar(ctx, bar)
    for _, name in ipairs(names) do
        local ok, v = pcall(require, name)
        if ok then
            error("ESCAPED: require('" .. name .. "') gave " .. tostring(v))
        end
    end
    -- the documented modules still load
    assert(require("apex.ta") and require("apex.instructions") and require("apex.params"))
end

return M
