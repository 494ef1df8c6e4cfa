-- attempt: table.concat over a range up to 1e15: of a table whose __index makes up every element (a Lua call per element from C), and of a real table of a million strings (built over four bars)
-- expect: survives; pipeline=failed; error~="invalid value"; at=@; control=unaffected
local M = {}
local calls = 0
local parts = {}
local endless = setmetatable({}, { __index = function(t, i)
    return "x" -- @here
end })

function M.on_bar(ctx, bar)
    calls = calls + 1
    if calls <= 4 then
        for i = #parts + 1, #parts + 250000 do parts[i] = "ab" end
    elseif calls == 5 then
        table.concat(endless, "", 1, 1e15) -- @here
        ctx.state.after = 1
    elseif calls == 6 then
        table.concat(parts, "", 1, 1e15) -- @here
        ctx.state.after = 2
    end
end

return M
