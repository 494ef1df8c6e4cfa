-- attempt: a looping __gc finalizer left behind by the pipeline file, run when its sandbox is closed
-- role: pipeline
-- expect: survives; pipeline=refused; error~="__gc"; at=@; control=none
KEEP = setmetatable({}, { __gc = function() while true do end end }) -- @here
return apex.pipeline { name = "attacker", symbols = { "ATK" }, data = { files = { "bars.csv" } }, strategy = "buyer.lua" }
