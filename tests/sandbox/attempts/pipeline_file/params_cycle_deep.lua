-- attempt: params that contain themselves, and a bias params chain 100,000 tables deep
-- role: pipeline
-- expect: survives; pipeline=refused; error~="contains itself"; error~="nested more than"; control=none
local cyc = { a = 1 }
cyc.self = cyc
local deep = {}
for i = 1, 100000 do deep = { deep } end
return apex.pipeline {
    name = "attacker",
    symbols = { "ATK" },
    data = { files = { "bars.csv" } },
    strategy = { file = "buyer.lua", params = { c = cyc } },
    bias = { file = "probe_bias.lua", params = { d = deep } },
}
