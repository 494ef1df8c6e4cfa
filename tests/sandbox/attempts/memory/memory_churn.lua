-- attempt: allocate about 40 MB and drop it on every one of 30 bars (fragmentation, collector pace): the process's peak RSS must stay bounded
-- expect: survives; control=unaffected
local M = {}
local calls = 0

function M.on_bar(ctx, bar)
    calls = calls + 1
    if calls > 30 then
        return
    end
    local t = {}
    for i = 1, 40 do t[i] = string.rep(string.char(65 + i % 26), 1e6 - calls) end
    local small = {}
    for i = 1, 20000 do small[i] = tostring(i * calls) end
end

return M
