-- attempt: coroutine.wrap inside coroutine.wrap, without end (each resume nests a C call)
-- expect: survives; pipeline=failed; error~="stack overflow"; control=unaffected
local M = {}

local function nest(n)
    return coroutine.wrap(nest)(n + 1)
end

function M.on_bar(ctx, bar)
    nest(1)
end

return M
