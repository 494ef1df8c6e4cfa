-- attempt: replace or reach the string metatable: getmetatable on strings, setmetatable on a string, a __metatable probe, ("").__index, #getmetatable
-- with: probe
-- expect: survives; pipeline=traded; control=unaffected
local M = {}

function M.on_bar(ctx, bar)
    ctx.state.n = (ctx.state.n or 0) + 1
    if ctx.state.n == 1 then
        for _, s in ipairs({ "", "x", bar.symbol }) do
            local mt = getmetatable(s)
            if mt then error("ESCAPED: getmetatable on a string gave " .. tostring(mt)) end
        end
        pcall(setmetatable, "", {})
        pcall(function() getmetatable("").__index = {} end)
        pcall(function() getmetatable("").__metatable = nil end)
        local idx = ("").__index
        if idx ~= nil then error("ESCAPED: ('').__index is " .. tostring(idx)) end
    elseif ctx.state.n == 3 then
        return { side = "buy", qty = 10, stop_loss = bar.close * 0.8, take_profit = bar.close * 1.5 }
    end
end

return M
