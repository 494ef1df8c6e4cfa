-- attempt: a pipeline table whose sections have looping __index, __pairs and __len metamethods (the loader must read it raw or within its deadline)
-- role: pipeline
-- expect: survives; control=none; exit=3
local function loop() while true do end end
local trap = { __index = loop, __pairs = loop, __len = loop, __newindex = loop }
return apex.pipeline(setmetatable({
    name = "attacker",
    symbols = setmetatable({ "ATK" }, trap),
    data = setmetatable({ files = setmetatable({ "bars.csv" }, trap) }, trap),
    strategy = "buyer.lua",
    risk = setmetatable({}, trap),
}, trap))
