-- attempt: stop or retune the garbage collector (only "count" and "collect" are allowed)
-- expect: survives; pipeline=clean; control=unaffected
local M = {}

local refused = { "stop", "restart", "step", "incremental", "generational", "setpause",
                  "setstepmul", "isrunning" }

function M.on_bar(ctx, bar)
    for _, opt in ipairs(refused) do
        local ok, v = pcall(collectgarbage, opt, 0)
        if ok then
            error("ESCAPED: collectgarbage('" .. opt .. "') was allowed (" .. tostring(v) .. ")")
        end
    end
    assert(type(collectgarbage("count")) == "number")
    collectgarbage("collect")
end

return M
