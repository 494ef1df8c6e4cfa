-- attempt: a table bomb in a pipeline file (its sandbox has 32 MiB)
-- role: pipeline
-- expect: survives; pipeline=refused; error~="memory|deadline"; control=none
local t = {}
for i = 1, 1e9 do t[i] = string.rep("m", 1000) .. i end
return apex.pipeline { name = "attacker", symbols = { "ATK" }, data = { files = { "bars.csv" } }, strategy = "buyer.lua" }
