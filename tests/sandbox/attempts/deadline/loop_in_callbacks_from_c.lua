-- attempt: endless loops in Lua called back from C: a gsub replacement, a sort comparator, a load reader
-- expect: survives; pipeline=failed; error~="script ran past its 250 ms deadline"; at=@; control=unaffected
local M = {}
local calls = 0

local function loop()
    while true do end -- @here
end

function M.on_bar(ctx, bar)
    calls = calls + 1
    if calls == 1 then
        string.gsub("abc", ".", loop)
    elseif calls == 2 then
        table.sort({ 3, 2, 1 }, loop)
    elseif calls == 3 then
        load(loop)
    end
end

return M
