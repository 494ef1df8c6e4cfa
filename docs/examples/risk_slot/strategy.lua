-- docs/risk.md's worked example: AAPL and MSFT both signal a market buy on the 14:34 bar,
-- with the stops, targets and confidences of the example's table.
local plan = {
    AAPL = { stop_loss = 95, take_profit = 110, confidence = 0.9 },
    MSFT = { stop_loss = 48, take_profit = 56, confidence = 0.7 },
}

return {
    on_bar = function(ctx, bar)
        ctx.state.n = (ctx.state.n or 0) + 1
        if ctx.state.n == 5 then
            local p = plan[bar.symbol]
            return { side = "buy", stop_loss = p.stop_loss, take_profit = p.take_profit,
                     confidence = p.confidence }
        end
    end,
}
