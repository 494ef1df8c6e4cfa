-- attempt: a pipeline file that loops forever while it is evaluated
-- role: pipeline
-- expect: survives; pipeline=refused; error~="deadline"; at=@; control=none
while true do end -- @here
return apex.pipeline { name = "attacker", symbols = { "ATK" }, data = { files = { "bars.csv" } }, strategy = "buyer.lua" }
