-- attempt: find string.dump (the library, the string metatable, pairs over string) to make bytecode
-- expect: survives; pipeline=clean; control=unaffected
local M = {}

function M.on_bar(ctx, bar)
    local found = string.dump or ("").dump
    pcall(function()
        for k, v in pairs(string) do
            if k == "dump" then found = v end
        end
    end)
    pcall(function()
        local _, real = pairs(string)
        if type(real) == "table" then found = found or rawget(real, "dump") end
    end)
    if found then
        local ok, code = pcall(found, function() return 1 end)
        error("ESCAPED: string.dump is reachable (" .. tostring(ok and #code) .. " bytes)")
    end
end

return M
