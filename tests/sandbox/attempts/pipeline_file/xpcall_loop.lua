-- attempt: xpcall(loop, loop) in a pipeline file (the message handler runs with hooks off after the deadline trips)
-- role: pipeline
-- expect: survives; pipeline=refused; error~="deadline"; at=@; control=none
local function loop()
    while true do end -- @here
end
xpcall(loop, loop)
return apex.pipeline { name = "attacker", symbols = { "ATK" }, data = { files = { "bars.csv" } }, strategy = "buyer.lua" }
