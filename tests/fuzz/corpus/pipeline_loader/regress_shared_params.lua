local t = 1
for i = 1, 30 do t = { a = t, b = t } end
return apex.pipeline { name = "x", strategy = { file = "strategy.lua", params = t } }
