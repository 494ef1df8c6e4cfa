-- The attacker pipeline's strategy when the attempt is a bias or a rule file: one buy on
-- the third bar (target and stop far away), held until the instruction rule
-- "close if GAUGE > 40" closes it (GAUGE is 45 from bar 41).
local M = {}

function M.on_bar(ctx, bar)
    ctx.state.n = (ctx.state.n or 0) + 1
    if ctx.state.n == 3 and not ctx.position then
        return { side = "buy", qty = 10, stop_loss = bar.close * 0.8,
                 take_profit = bar.close * 1.5, reason = "buyer" }
    end
end

return M
