-- The control pipeline's strategy: deterministic, and it leans on the libraries an attack
-- would like to corrupt (string.format, table.insert, math.floor, apex.ta), so a leak
-- between pipelines would change its trades. Three entries: bar 5 (closed by the
-- "close if GAUGE > 40" instruction at bar 40), bar 60 (closed by its +1% target leg)
-- and bar 95 (still open at the end of the data).
local ta = require("apex.ta")
local M = {}

function M.on_start(ctx)
    ctx.state.n = 0
    ctx.state.closes = {}
    ctx.state.sma = ta.sma(5)
end

function M.on_bar(ctx, bar)
    local s = ctx.state
    s.n = s.n + 1
    table.insert(s.closes, math.floor(bar.close * 100 + 0.5))
    s.sma:update(bar.close)
    if ctx.position then
        return nil
    end
    if s.n == 5 or s.n == 60 or s.n == 95 then
        local target = s.n == 60 and 1.01 or 1.5
        return {
            side = "buy",
            qty = 10,
            stop_loss = bar.close * 0.9,
            take_profit = bar.close * target,
            reason = string.format("bar %d close %.2f sma %.2f (%d closes)", s.n, bar.close,
                                   s.sma.value or 0, #s.closes),
        }
    end
end

return M
