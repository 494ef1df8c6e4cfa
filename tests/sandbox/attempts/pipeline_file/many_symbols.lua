-- attempt: 100,000 distinct symbols (the loader's duplicate check must not be quadratic: 5e9 string compares took 12 s of CPU; the pipeline file's budget is 2 s)
-- role: pipeline
-- expect: survives; wall<=8
local many = { "ATK" }
for i = 2, 100000 do many[i] = "S" .. i end
return apex.pipeline {
    name = "attacker",
    symbols = many,
    data = { files = { "bars.csv" } },
    strategy = "buyer.lua",
}
