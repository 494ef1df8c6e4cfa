-- attempt: params where each of 1,000 keys holds the same 1,000-entry table of 1 KB strings (a gigabyte once expanded)
-- role: pipeline
-- expect: survives; pipeline=refused; error~="strategy.params"; control=none
local row = {}
for i = 1, 1000 do row[i] = string.rep("r", 1000) end
local params = {}
for i = 1, 1000 do params["k" .. i] = row end
return apex.pipeline {
    name = "attacker",
    symbols = { "ATK" },
    data = { files = { "bars.csv" } },
    strategy = { file = "buyer.lua", params = params },
}
