-- A params table that refers to itself twice: 2^33 paths for a walk without a cycle check.
local P = {}
P.a = P
P.b = P
return apex.pipeline { name = "x", strategy = { file = "strategy.lua", params = P } }
