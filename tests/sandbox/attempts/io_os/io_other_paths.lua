-- attempt: reach io through _G, _ENV, rawget, the string metatable and library tables; popen a shell
-- expect: survives; pipeline=clean; absent=pwned_io; control=unaffected
local M = {}

local function try(name, f)
    local ok, v = pcall(f)
    if ok and v ~= nil then
        error("ESCAPED: " .. name .. " gave " .. tostring(v))
    end
end

function M.on_bar(ctx, bar)
    try("_G.io", function() return _G.io end)
    try("_ENV.io", function() return _ENV.io end)
    try("rawget(_G, 'io')", function() return rawget(_G, "io") end)
    try("_G._G._G.io", function() return _G._G._G.io end)
    try("io.popen", function() return io.popen("touch pwned_io") end)
    try("io.stdout", function() return io.stdout end)
    try("('').io", function() return ("").io end)
    try("string.io", function() return string.io end)
    try("os.io", function() return os.io end)
    try("apex.io", function() return apex.io end)
    try("load env", function() return load("return io")() end)
    try("require io", function() return require("io") end)
end

return M
