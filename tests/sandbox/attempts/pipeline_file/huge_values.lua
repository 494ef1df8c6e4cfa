-- attempt: 8 MB strings for the name, a symbol and an instruction
-- role: pipeline
-- expect: survives; pipeline=refused; error~="name"; error~="symbols[1]"; control=none
local big = string.rep("Z", 8 << 20)
return apex.pipeline {
    name = big,
    symbols = { big, "ATK" },
    data = { files = { "bars.csv" } },
    strategy = "buyer.lua",
    instructions = { "close if " .. big .. " > 40" },
}
