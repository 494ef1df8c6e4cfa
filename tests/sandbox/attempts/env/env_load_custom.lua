-- attempt: load with custom environments: none (fresh), the library proxies, a table that forwards to _G, the env of another load
-- expect: survives; pipeline=clean; control=unaffected
local M = {}

function M.on_bar(ctx, bar)
    -- without env: a fresh environment with only the safe globals
    local io_ = load("return io, debug, package, _ENV")()
    if io_ ~= nil then error("ESCAPED: load's environment has io") end
    local env = select(4, load("return io, debug, package, _ENV")())
    if type(env) == "table" and type(getmetatable(env)) == "table" then
        error("ESCAPED: the metatable of load's fresh environment is reachable")
    end
    -- the string proxy as an environment: writes must still be refused
    local ok = pcall(load("format = nil; upper = nil", "=x", "t", string))
    if ok and string.format == nil then error("ESCAPED: a load into string's proxy cleared format") end
    -- an environment that writes through to the shared globals' values
    local leak = setmetatable({}, { __index = _G, __newindex = function(_, k, v) rawset(_G, k, v) end })
    load("PWNED = true", "=y", "t", leak)()
    -- binary through a custom env: still text only
    local okb, f = pcall(load, "\27LuaT\0", "=z", "b", {})
    if okb and f then error("ESCAPED: a binary chunk loaded with a custom environment") end
end

return M
