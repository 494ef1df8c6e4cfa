-- attempt: xpcall(loop, loop) in a pipeline file (the message handler runs with hooks off after the deadline trips)
-- role: pipeline
-- expect: survives; pipeline=refused; error~="deadline"; at=@; control=none
-- (the error names the loop, or the statement right after xpcall returned: both are marked)
local function loop()
    while true do end -- @here
end
xpcall(loop, loop); local after = 1 -- @here
return apex.pipeline { name = "attacker", symbols = { "ATK" }, data = { files = { "bars.csv" } }, strategy = "buyer.lua" }
