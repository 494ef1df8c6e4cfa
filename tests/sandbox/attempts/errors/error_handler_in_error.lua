-- attempt: errors raised while handling errors: a __close that raises during unwinding, a message handler that raises, 200 levels deep
-- expect: survives; pipeline=failed; error~="error_handler_in_error.lua:"; control=unaffected
local M = {}
local calls = 0
local raising = { __close = function(_, err)
    error("close failed after: " .. tostring(err):sub(1, 80))
end }

local function nest(n)
    local guard <close> = setmetatable({}, raising)
    if n == 0 then
        error("deepest")
    end
    return nest(n - 1)
end

function M.on_bar(ctx, bar)
    calls = calls + 1
    if calls <= 3 then
        xpcall(nest, function(m) error(m) end, 200)
        nest(200)
    end
end

return M
