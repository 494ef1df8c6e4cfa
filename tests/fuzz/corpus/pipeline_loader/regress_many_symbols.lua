-- Many symbols with their own instruments and a duplicate: linear, not quadratic.
local S, I = {}, {}
for i = 1, 5000 do S[i] = "S" .. i; I[S[i]] = { tick = 0.01 } end
S[#S + 1] = "S17"
local R = {}
for i = 1, 2000 do R["k" .. i] = i end
return apex.pipeline { name = "x", symbols = S, data = { files = "bars.csv" },
                       strategy = "strategy.lua", instruments = I, risk = R }
