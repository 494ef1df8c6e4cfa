-- attempt: load a binary chunk from a string, in every mode
-- expect: survives; pipeline=clean; control=unaffected
local M = {}

-- a Lua 5.4 header (signature, version, format, LUAC_DATA, sizes, LUAC_INT, LUAC_NUM)
local header = "\27LuaT\0\25\147\r\n\26\n\4\8\8" .. string.pack("<j", 0x5678) .. string.pack("<n", 370.5)
local chunk = header .. string.rep("\0", 64)

function M.on_bar(ctx, bar)
    for _, mode in ipairs({ false, "b", "bt", "tb", "t" }) do
        local ok, f = pcall(load, chunk, "=chunk", mode or nil)
        if ok and type(f) == "function" then
            error("ESCAPED: load of a binary chunk in mode " .. tostring(mode) .. " gave a function")
        end
    end
    assert(load("return 1")() == 1, "source text must still load")
end

return M
