-- attempt: __lt looping inside table.sort (a C function calling back), then __eq looping in a comparison
-- expect: survives; pipeline=failed; error~="script ran past its 250 ms deadline"; at=@; control=unaffected
local M = {}
local calls = 0
local mt = {
    __lt = function() while true do end end, -- @here
    __eq = function() while true do end end, -- @here
}

function M.on_bar(ctx, bar)
    calls = calls + 1
    local a, b, c = setmetatable({}, mt), setmetatable({}, mt), setmetatable({}, mt)
    if calls == 1 then
        table.sort({ a, b, c })
    elseif calls == 2 then
        return a == b
    end
end

return M
