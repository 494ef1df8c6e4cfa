-- attempt: _ENV and _G tricks: a nil _ENV, _G chains, _G replaced, upvalue _ENV of a nested function, select('#') on globals
-- expect: survives; pipeline=clean; control=unaffected
local M = {}

local function probe_env(env, name)
    for _, k in ipairs({ "io", "debug", "package", "dofile", "loadfile", "require_c" }) do
        local ok, v = pcall(function() return env[k] end)
        if ok and v ~= nil then
            error("ESCAPED: " .. name .. "." .. k .. " is " .. tostring(v))
        end
    end
end

function M.on_bar(ctx, bar)
    probe_env(_ENV, "_ENV")
    probe_env(_G, "_G")
    probe_env(_G._G, "_G._G")
    do
        local _ENV = setmetatable({}, { __index = _G })
        probe_env(_ENV, "a local _ENV")
    end
    local ok = pcall(function()
        local _ENV = nil
        return print -- indexes a nil _ENV
    end)
    assert(not ok, "indexing a nil _ENV must fail")
    _G = {} -- only this module's own field
    assert(type(print) == "function" and type(string.format) == "function")
end

return M
