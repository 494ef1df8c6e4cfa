-- attempt: the rest of os: remove and rename the data files, tmpname, getenv, setlocale, difftime
-- expect: survives; pipeline=clean; present=bars.csv; present=control.lua; absent=moved.csv; control=unaffected
local M = {}

local function try(name, f)
    local ok, v = pcall(f)
    if ok and v ~= nil then
        error("ESCAPED: " .. name .. " gave " .. tostring(v))
    end
end

function M.on_bar(ctx, bar)
    try("os.remove", function() return os.remove("bars.csv") end)
    try("os.rename", function() return os.rename("control.lua", "moved.csv") end)
    try("os.tmpname", function() return os.tmpname() end)
    try("os.getenv", function() return os.getenv("HOME") end)
    try("os.setlocale", function() return os.setlocale("C") end)
    try("os.difftime", function() return os.difftime(2, 1) end)
    try("os.exit", function() return os.exit end)
    -- what is documented as available still works
    assert(type(os.time()) == "number" and type(os.clock()) == "number" and type(os.date()) == "string")
end

return M
