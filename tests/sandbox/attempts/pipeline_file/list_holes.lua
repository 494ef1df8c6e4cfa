-- attempt: lists with holes: symbols { "ATK", nil, "CTRL" }, instructions with one entry at index 2^53, data files at 1 and 1e15
-- role: pipeline
-- expect: survives; pipeline=refused; error~="symbols[2]"; error~="instructions[2]"; error~="data.files[2]"; control=none
local missing
return apex.pipeline {
    name = "attacker",
    symbols = { "ATK", missing, "CTRL" },
    data = { files = { [1] = "bars.csv", [1e15] = "bars.csv" } },
    strategy = "buyer.lua",
    instructions = { [1] = "close if GAUGE > 40", [2 ^ 53] = "close if GAUGE > 50" },
}
