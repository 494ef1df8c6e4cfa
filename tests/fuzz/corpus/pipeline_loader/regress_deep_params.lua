local t = 1
for i = 1, 40 do t = { a = t } end
return apex.pipeline { name = "x", strategy = { file = "strategy.lua", params = t } }
