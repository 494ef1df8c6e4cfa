-- attempt: strategy params that share one table 2^40 times over (40 levels of { t, t }): converted naively, an exponential JSON document
-- role: pipeline
-- expect: survives; pipeline=refused; error~="strategy.params"; control=none
local t = { 1 }
for i = 1, 40 do t = { t, t } end
return apex.pipeline {
    name = "attacker",
    symbols = { "ATK" },
    data = { files = { "bars.csv" } },
    strategy = { file = "buyer.lua", params = { x = t } },
}
