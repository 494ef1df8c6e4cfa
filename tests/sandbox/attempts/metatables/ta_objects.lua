-- attempt: apex.ta's C indicators: patch their hidden metatable and their methods, call one kind's update on another kind, feed NaN, infinities, strings and a table whose __tostring throws, ask for windows far past the memory cap, then trade on an SMA as if nothing happened
-- with: probe, rule
-- expect: survives; pipeline=traded; rule=fired; control=unaffected
local ta = require("apex.ta")
local M = {}

local function attack()
    local s, e, h = ta.sma(3), ta.ema(3), ta.highest(3)
    pcall(setmetatable, s, {})
    pcall(function() getmetatable(s).__index = print end)
    pcall(function() s.update = function() return 0 end end)
    pcall(rawset, s, "update", print)
    pcall(s.update, e, 1)
    pcall(h.update, s, 1)
    pcall(e.ready, "x")
    local bad = setmetatable({}, { __tostring = function() error("boom") end })
    for _, v in ipairs({ 0 / 0, math.huge, -math.huge, "1", {}, bad, true, print }) do
        pcall(s.update, s, v)
        pcall(ta.atr(3).update, ta.atr(3), 1, v, 1)
        pcall(ta.sma, v)
        pcall(ta.macd, 12, 26, 9, { percent = v })
        pcall(ta.atr, 14, { first_tr = v, [v] = 1 })
    end
    for _, n in ipairs({ 1e7, 5e6, 2^62, -1, 0.5 }) do
        pcall(ta.highest, n)
        pcall(ta.bollinger, n, 2)
    end
    local keep = {}
    pcall(function()
        for i = 1, 1e6 do keep[i] = ta.lowest(10000) end
    end)
    keep = nil
    collectgarbage()
end

function M.on_start(ctx)
    ctx.state.sma = ta.sma(2)
end

function M.on_bar(ctx, bar)
    ctx.state.n = (ctx.state.n or 0) + 1
    if ctx.state.n == 1 then
        attack()
    end
    local v = ctx.state.sma:update(bar.close)
    if ctx.state.n == 3 and v and v > 0 then
        return { side = "buy", qty = 10, stop_loss = bar.close * 0.8, take_profit = bar.close * 1.5 }
    end
end

return M
