-- attempt: looping __index/__newindex/__len/__pairs on ctx and ctx.state, which the host fills in on every call
-- expect: survives; pipeline=clean; control=unaffected
local M = {}
local function loop() while true do end end
local trap = { __index = loop, __newindex = loop, __len = loop, __pairs = loop, __eq = loop }

function M.on_bar(ctx, bar)
    if not getmetatable(ctx) then
        setmetatable(ctx, trap)
        setmetatable(ctx.state, trap)
        setmetatable(bar, trap)
    end
    -- the host must still hand over a usable ctx and bar (raw fields)
    assert(rawget(ctx, "symbol") == "ATK" and rawget(bar, "close") > 0)
end

return M
