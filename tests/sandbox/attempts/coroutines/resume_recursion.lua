-- attempt: coroutine.resume inside coroutine.resume, without end, propagating each failure
-- expect: survives; pipeline=failed; error~="stack overflow"; control=unaffected
local M = {}

local function nest()
    local co = coroutine.create(nest)
    local ok, err = coroutine.resume(co)
    error(err, 0)
end

function M.on_bar(ctx, bar)
    nest()
end

return M
