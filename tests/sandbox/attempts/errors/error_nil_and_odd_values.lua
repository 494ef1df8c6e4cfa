-- attempt: error(nil), error(false), error(42), error(coroutine), error with level 0 and 2: the failure must still name the file and line
-- expect: survives; pipeline=failed; error~="nil value"; error~="boolean value"; at=@; control=unaffected
local M = {}
local calls = 0

function M.on_bar(ctx, bar)
    calls = calls + 1
    if calls == 1 then
        error(nil) -- @here
    elseif calls == 2 then
        error(false) -- @here
    elseif calls == 3 then
        error(42) -- @here
    elseif calls == 4 then
        error(coroutine.create(print)) -- @here
    elseif calls == 5 then
        error("level zero", 0) -- @here
    elseif calls == 6 then
        error("level two", 2) -- @here
    end
end

return M
